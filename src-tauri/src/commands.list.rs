// The IPC commands the console window may call; the one list shared by build.rs (permissions)
// and lib.rs (crate::COMMANDS). Add a command here, in desktop/commands.rs and in tauri.conf.json.
&[
    "list_connections",
    "save_connection",
    "delete_connection",
    "test_connection",
    "list_secret_expiries",
    "list_job_kinds",
    "list_jobs",
    "save_job",
    "delete_job",
    "run_job_now",
    "cancel_run",
    "list_runs",
    "get_run",
    "list_run_events",
    "get_dashboard",
    "get_settings",
    "save_settings",
    "get_app_info",
    "start_demo",
]
