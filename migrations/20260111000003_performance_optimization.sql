-- Migration: Performance optimization
-- Description: Indexes for the lookups the policies and the app make; the big one built concurrently

CREATE INDEX idx_user_preferences_user_id ON public.user_preferences (user_id);

CREATE INDEX idx_profiles_updated_at ON public.profiles (updated_at DESC);

-- Built without blocking writes (runs outside a transaction, so this file runs one statement at a time).
CREATE INDEX CONCURRENTLY idx_user_preferences_preferences ON public.user_preferences USING gin (preferences);
