//! Times the object-map queries an Entra Sync run makes, at the benchmark's large size
//! (100k users, 20k groups, 50k + 50k devices, 2k apps, 1.27 M memberships), on a real file.
//!
//!     cargo run --release -p crosswalk-store --example object_map_large [memberships]

use crosswalk_core::{JobConfig, Schedule};
use crosswalk_store::{MapChange, MapEntry, MapFilter, Store};
use std::time::Instant;

fn entry(kind: &str, remote_id: String, member_id: Option<String>, doc: &str) -> MapEntry {
    MapEntry {
        target_id: Some(format!("{}", remote_id.len() * 7)),
        hash: "0123456789abcdef".into(),
        member_id,
        ..MapEntry::intent(kind, &remote_id, "Some Label Of Usual Length", doc.into())
    }
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    println!("{what:<44} {:>9.3} s", start.elapsed().as_secs_f64());
    out
}

fn main() {
    let memberships: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_270_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let keep = std::env::var_os("KEEP_DIR").map(std::path::PathBuf::from);
    let path = keep.as_deref().unwrap_or(dir.path());
    let store = Store::open(path).expect("store");
    let (job, _) = store
        .upsert_job(&JobConfig {
            name: "bench".into(),
            kind: "entra-sync".into(),
            schedule: Schedule::Hourly,
            enabled: true,
            settings: serde_json::json!({}),
        })
        .expect("job");
    let doc = r#"{"label":"Ada Lovelace","values":{"Entra Object ID":{"t":"text","v":"00000000-0000-0000-0000-000000000000"},"Job title":{"t":"text","v":"Engineer"},"Department":{"t":"text","v":"Research"},"Entra Status":{"t":"status","v":"active"},"Manager":{"t":"refs","v":["user",["00000000-0000-0000-0000-000000000001"]]}}}"#;
    let kinds = [
        ("user", 100_000),
        ("group", 20_000),
        ("device", 50_000),
        ("managed_device", 50_000),
        ("application", 2_000),
    ];
    timed("fill (objects + memberships)", || {
        for (kind, n) in kinds {
            let changes: Vec<MapChange> = (0..n)
                .map(|i| MapChange::Put(entry(kind, format!("{kind}-{i:08}"), None, doc)))
                .collect();
            for chunk in changes.chunks(20_000) {
                store.map_apply(job, chunk).expect("apply");
            }
        }
        let mut batch = Vec::new();
        for i in 0..memberships {
            let group = i % 20_000;
            let member = (i * 7919) % 100_000;
            batch.push(MapChange::Put(entry(
                "membership",
                format!("group-{group:08}:user-{member:08}"),
                Some(format!("user-{member:08}")),
                doc,
            )));
            if batch.len() == 20_000 {
                store.map_apply(job, &batch).expect("apply");
                batch.clear();
            }
        }
        store.map_apply(job, &batch).expect("apply");
    });
    drop(store);
    let store = Store::open(path).expect("reopen");
    timed("map_counts (GROUP BY kind)", || {
        store.map_counts(job).expect("counts")
    });
    timed("map_select Open", || {
        store.map_select(job, &MapFilter::Open).expect("open")
    });
    timed("map_targets user/group/device", || {
        store
            .map_targets(job, &["user", "group", "device"])
            .expect("targets")
            .len()
    });
    timed("map_select Unresolved", || {
        store
            .map_select(job, &MapFilter::Unresolved)
            .expect("unresolved")
    });
    timed("map_select Missing", || {
        store.map_select(job, &MapFilter::Missing).expect("missing")
    });
    let ids: Vec<String> = (0..500).map(|i| format!("user-{:08}", i * 13)).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    timed("map_get 500 users", || {
        store.map_get(job, "user", &refs).expect("get").len()
    });
}
