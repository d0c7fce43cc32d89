-- Functions called through PostgREST rpc()
create or replace function public.dish_count(p_event uuid)
returns integer
language sql
stable
security invoker
set search_path = ''
as $$
  select count(*)::integer from public.dishes where event_id = p_event;
$$;

create or replace function public.claim_username(p_name text)
returns void
language plpgsql
security definer
set search_path = ''
as $fn$
declare
  v_uid uuid := auth.uid();
begin
  if v_uid is null then
    raise exception 'not signed in' using errcode = '28000';
  end if;
  update public.profiles set username = p_name, updated_at = now() where id = v_uid;
end;
$fn$;

revoke execute on function public.claim_username(text) from public, anon;
grant execute on function public.claim_username(text) to authenticated;
grant execute on function public.dish_count(uuid) to anon, authenticated;
