-- Broadcast new dishes to the event page
alter publication supabase_realtime add table public.dishes;
