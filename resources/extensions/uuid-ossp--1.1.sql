-- Tidemark's SQL-only stand-in for uuid-ossp 1.1 (sandbox only; not the real extension).
\echo Use "CREATE EXTENSION ""uuid-ossp""" to load this file. \quit

CREATE FUNCTION uuid_nil() RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT '00000000-0000-0000-0000-000000000000'::uuid $$;
CREATE FUNCTION uuid_ns_dns() RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT '6ba7b810-9dad-11d1-80b4-00c04fd430c8'::uuid $$;
CREATE FUNCTION uuid_ns_url() RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT '6ba7b811-9dad-11d1-80b4-00c04fd430c8'::uuid $$;
CREATE FUNCTION uuid_ns_oid() RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT '6ba7b812-9dad-11d1-80b4-00c04fd430c8'::uuid $$;
CREATE FUNCTION uuid_ns_x500() RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT '6ba7b814-9dad-11d1-80b4-00c04fd430c8'::uuid $$;

CREATE FUNCTION uuid_generate_v4() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE
AS $$ SELECT pg_catalog.gen_random_uuid() $$;

-- A name-based UUID from 16 bytes of a hash: version nibble and RFC 4122 variant set.
CREATE FUNCTION _tidemark_uuid_from_hash(hash bytea, version integer) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT encode(set_byte(set_byte(substring(hash FROM 1 FOR 16),
                                  6, (get_byte(hash, 6) & 15) | (version << 4)),
                         8, (get_byte(hash, 8) & 63) | 128), 'hex')::uuid
$$;

CREATE FUNCTION uuid_generate_v3(namespace uuid, name text) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@._tidemark_uuid_from_hash(
    decode(md5(uuid_send(namespace) || convert_to(name, 'UTF8')), 'hex'), 3)
$$;

-- SHA-1 (PostgreSQL has no built-in one), for uuid_generate_v5.
CREATE FUNCTION _tidemark_uuid_sha1(data bytea) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  mask CONSTANT bigint := 4294967295;
  h0 bigint := 1732584193; h1 bigint := 4023233417; h2 bigint := 2562383102;
  h3 bigint := 271733878; h4 bigint := 3285377520;
  msg bytea := data || '\x80'::bytea;
  w bigint[];
  a bigint; b bigint; c bigint; d bigint; e bigint; f bigint; k bigint; t bigint;
  base integer;
BEGIN
  WHILE length(msg) % 64 <> 56 LOOP
    msg := msg || '\x00'::bytea;
  END LOOP;
  msg := msg || int8send(length(data)::bigint * 8);
  FOR chunk IN 0 .. length(msg) / 64 - 1 LOOP
    base := chunk * 64;
    w := array_fill(0::bigint, ARRAY[80]);
    FOR j IN 1 .. 16 LOOP
      w[j] := (get_byte(msg, base + (j - 1) * 4)::bigint << 24) | (get_byte(msg, base + (j - 1) * 4 + 1)::bigint << 16)
            | (get_byte(msg, base + (j - 1) * 4 + 2)::bigint << 8) | get_byte(msg, base + (j - 1) * 4 + 3)::bigint;
    END LOOP;
    FOR j IN 17 .. 80 LOOP
      t := w[j - 3] # w[j - 8] # w[j - 14] # w[j - 16];
      w[j] := ((t << 1) | (t >> 31)) & mask;
    END LOOP;
    a := h0; b := h1; c := h2; d := h3; e := h4;
    FOR j IN 1 .. 80 LOOP
      IF j <= 20 THEN
        f := (b & c) | ((b # mask) & d); k := 1518500249;
      ELSIF j <= 40 THEN
        f := b # c # d; k := 1859775393;
      ELSIF j <= 60 THEN
        f := (b & c) | (b & d) | (c & d); k := 2400959708;
      ELSE
        f := b # c # d; k := 3395469782;
      END IF;
      t := ((((a << 5) | (a >> 27)) & mask) + f + e + k + w[j]) & mask;
      e := d; d := c; c := ((b << 30) | (b >> 2)) & mask; b := a; a := t;
    END LOOP;
    h0 := (h0 + a) & mask; h1 := (h1 + b) & mask; h2 := (h2 + c) & mask;
    h3 := (h3 + d) & mask; h4 := (h4 + e) & mask;
  END LOOP;
  RETURN substring(int8send(h0) FROM 5) || substring(int8send(h1) FROM 5) || substring(int8send(h2) FROM 5)
      || substring(int8send(h3) FROM 5) || substring(int8send(h4) FROM 5);
END
$$;

CREATE FUNCTION uuid_generate_v5(namespace uuid, name text) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@._tidemark_uuid_from_hash(
    @extschema@._tidemark_uuid_sha1(uuid_send(namespace) || convert_to(name, 'UTF8')), 5)
$$;

-- Version 1 layout from the clock, with a random multicast node instead of the MAC address
-- (what uuid_generate_v1mc does; v1 is approximated the same way).
CREATE FUNCTION uuid_generate_v1mc() RETURNS uuid LANGUAGE plpgsql VOLATILE PARALLEL SAFE AS $$
DECLARE
  ts bigint := (extract(epoch FROM clock_timestamp()) * 10000000)::bigint + 122192928000000000;
  node bytea := substring(uuid_send(pg_catalog.gen_random_uuid()) FROM 11 FOR 6);
BEGIN
  node := set_byte(node, 0, get_byte(node, 0) | 1);
  RETURN (lpad(to_hex(ts & 4294967295), 8, '0') || '-' || lpad(to_hex((ts >> 32) & 65535), 4, '0') || '-'
    || lpad(to_hex(((ts >> 48) & 4095) | 4096), 4, '0') || '-'
    || lpad(to_hex((floor(random() * 16384)::integer) | 32768), 4, '0') || '-' || encode(node, 'hex'))::uuid;
END
$$;

CREATE FUNCTION uuid_generate_v1() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE
AS $$ SELECT @extschema@.uuid_generate_v1mc() $$;
