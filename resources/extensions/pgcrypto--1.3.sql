-- Tidemark's SQL-only stand-in for pgcrypto 1.3 (sandbox only; not the real extension).
\echo Use "CREATE EXTENSION pgcrypto" to load this file. \quit

CREATE FUNCTION gen_random_uuid() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE
AS $$ SELECT pg_catalog.gen_random_uuid() $$;

--@sha1 _tidemark_pgcrypto_sha1

CREATE FUNCTION digest(bytea, text) RETURNS bytea LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
  CASE lower($2)
    WHEN 'md5' THEN RETURN decode(md5($1), 'hex');
    WHEN 'sha1' THEN RETURN @extschema@._tidemark_pgcrypto_sha1($1);
    WHEN 'sha224' THEN RETURN sha224($1);
    WHEN 'sha256' THEN RETURN sha256($1);
    WHEN 'sha384' THEN RETURN sha384($1);
    WHEN 'sha512' THEN RETURN sha512($1);
    ELSE RAISE EXCEPTION 'Cannot use "%": No such hash algorithm', $2 USING ERRCODE = '22023';
  END CASE;
END
$$;

CREATE FUNCTION digest(text, text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT @extschema@.digest(convert_to($1, 'UTF8'), $2) $$;

CREATE FUNCTION hmac(bytea, bytea, text) RETURNS bytea LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  block integer := CASE WHEN lower($3) IN ('sha384', 'sha512') THEN 128 ELSE 64 END;
  key bytea := $2;
  ipad bytea;
  opad bytea;
BEGIN
  IF length(key) > block THEN
    key := @extschema@.digest(key, $3);
  END IF;
  key := key || decode(repeat('00', block - length(key)), 'hex');
  ipad := key;
  opad := key;
  FOR i IN 0 .. block - 1 LOOP
    ipad := set_byte(ipad, i, get_byte(key, i) # 54);
    opad := set_byte(opad, i, get_byte(key, i) # 92);
  END LOOP;
  RETURN @extschema@.digest(opad || @extschema@.digest(ipad || $1, $3), $3);
END
$$;

CREATE FUNCTION hmac(text, text, text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT @extschema@.hmac(convert_to($1, 'UTF8'), convert_to($2, 'UTF8'), $3) $$;

CREATE FUNCTION gen_random_bytes(integer) RETURNS bytea LANGUAGE plpgsql VOLATILE STRICT PARALLEL SAFE AS $$
DECLARE
  out bytea := '';
BEGIN
  IF $1 < 1 OR $1 > 1024 THEN
    RAISE EXCEPTION 'Length not in range' USING ERRCODE = '22023';
  END IF;
  WHILE length(out) < $1 LOOP
    out := out || sha256(uuid_send(pg_catalog.gen_random_uuid()) || uuid_send(pg_catalog.gen_random_uuid()));
  END LOOP;
  RETURN substring(out FROM 1 FOR $1);
END
$$;

-- Password hashing needs the real library: say so clearly instead of "function does not exist".
CREATE FUNCTION crypt(text, text) RETURNS text LANGUAGE plpgsql VOLATILE PARALLEL SAFE AS $$
BEGIN
  RAISE EXCEPTION 'crypt() is not available in Tidemark''s pgcrypto stand-in (the local sandbox has no pgcrypto library)'
    USING ERRCODE = '0A000', HINT = 'run this migration on a server with the real pgcrypto';
END
$$;

CREATE FUNCTION gen_salt(text) RETURNS text LANGUAGE plpgsql VOLATILE PARALLEL SAFE AS $$
BEGIN
  RAISE EXCEPTION 'gen_salt() is not available in Tidemark''s pgcrypto stand-in (the local sandbox has no pgcrypto library)'
    USING ERRCODE = '0A000', HINT = 'run this migration on a server with the real pgcrypto';
END
$$;

CREATE FUNCTION gen_salt(text, integer) RETURNS text LANGUAGE sql VOLATILE PARALLEL SAFE
AS $$ SELECT @extschema@.gen_salt($1) $$;
