-- A storage-like bucket registry (storage schema is not ours on hosted projects)
create schema if not exists media;

create table media.buckets (
  id text primary key,
  name text not null unique,
  owner uuid references auth.users (id),
  public boolean not null default false,
  file_size_limit bigint,
  allowed_mime_types text[],
  created_at timestamptz default now()
);

create table media.objects (
  id uuid primary key default gen_random_uuid(),
  bucket_id text references media.buckets (id),
  name text,
  owner uuid default auth.uid(),
  metadata jsonb,
  path_tokens text[] generated always as (string_to_array(name, '/')) stored,
  created_at timestamptz default now()
);

create index objects_bucket_name_idx on media.objects (bucket_id, name text_pattern_ops);

alter table media.objects enable row level security;

create policy "Avatar images are publicly accessible." on media.objects
  for select using (bucket_id = 'avatars');

create policy "Anyone can upload an avatar." on media.objects
  for insert with check (bucket_id = 'avatars');

grant usage on schema media to anon, authenticated;
grant select on media.objects to anon, authenticated;
