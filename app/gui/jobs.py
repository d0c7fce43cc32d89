"""The main window's job kinds: one entry per kind says how it reads while it works, how its
failure is headed, whether it changes the database, and which window method shows its result.

A new kind of job plugs in here (and its `_shown_<kind>`-style method on WindowResults); the
progress line, the error panel, the refresh after a change and the locked environment picker
all read this table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class JobKind:
    """One kind of job the window starts on its TaskController."""

    verb: str  # the progress line while it works ("Running migrations…")
    heading: str  # the error panel's heading when it fails
    shown: str  # the WindowResults method called with the payload when it succeeds
    mutating: bool = False  # changes the database (or its history): a refresh follows; one at a time


JOBS: dict[str, JobKind] = {
    "status": JobKind("Reading status", "Cannot read the status", "_shown_status"),
    "run": JobKind("Running migrations", "Run failed", "_shown_run", mutating=True),
    "rollback": JobKind("Rolling back", "Rollback failed", "_shown_rollback", mutating=True),
    "dryrun": JobKind("Planning a dry run", "Dry run failed", "_shown_dryrun"),
    "plan": JobKind("Planning the rollback", "Rollback refused", "_shown_plan"),
    "review": JobKind("Planning the run", "Run not started", "_confirm_run"),
    "history": JobKind("Reading the history", "Cannot read the history", "_shown_history"),
    "repair-review": JobKind("Reading the changed files", "Cannot read the changed files", "_confirm_repair"),
    "repair": JobKind("Accepting the changed files", "Repair refused", "_shown_repair", mutating=True),
    "rollback-block": JobKind("Writing the rollback SQL into the file and recording it",
                              "Rollback SQL not recorded", "_shown_rollback_block", mutating=True),
    "baseline-review": JobKind("Planning the baseline", "Cannot plan the baseline", "_confirm_baseline"),
    "baseline": JobKind("Recording the baseline", "Baseline refused", "_shown_baseline", mutating=True),
    "new": JobKind("Writing the new migration", "New migration not written", "_shown_new"),
    "save-password": JobKind("Storing the password in the keyring", "Password not stored in the keyring",
                             "_shown_save_password"),
    "lint": JobKind("Linting the pending migrations", "Lint could not run", "_shown_lint"),
    "export": JobKind("Writing the report", "Report not written", "_shown_export"),
    "compare": JobKind("Comparing environments", "Comparison failed", "_shown_compare"),
    "rehearse": JobKind("Rehearsing on a throwaway copy", "Rehearsal could not run", "_shown_rehearse"),
    "import-review": JobKind("Looking for other tools' histories", "Cannot plan the import", "_shown_import_review"),
    "import": JobKind("Importing the history", "Import refused", "_shown_import", mutating=True),
    "supabase-status": JobKind("Reading the Supabase status", "Cannot read the Supabase status",
                               "_shown_supabase_status"),
    "shim-review": JobKind("Looking for auth.users", "Cannot check for auth.users", "_shown_shim_review"),
    "shim": JobKind("Installing the Supabase shim", "Supabase shim not installed", "_shown_shim", mutating=True),
}

# jobs that change the database: a refresh follows, the environment cannot change meanwhile
MUTATING_KINDS = frozenset(kind for kind, job in JOBS.items() if job.mutating)


def verb(kind: str) -> str:
    """The progress line of a job kind (its own name for one not in the table)."""
    job = JOBS.get(kind)
    return job.verb if job else kind


def heading(kind: str) -> str:
    """The error panel's heading for a failed job of this kind."""
    job = JOBS.get(kind)
    return job.heading if job else "Failed"
