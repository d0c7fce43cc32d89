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

--@sha1 _tidemark_uuid_sha1

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
