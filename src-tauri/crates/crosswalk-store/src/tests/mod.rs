//! Store tests on real database files in temp folders (and in memory where the file is irrelevant).

mod events;
mod helpers;
mod jobs_connections;
mod lock;
mod migrations;
mod misc_tables;
mod no_secrets;
mod object_map;
mod runs;
