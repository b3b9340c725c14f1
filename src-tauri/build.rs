fn main() {
    println!("cargo:rerun-if-changed=src-tauri/build.rs");
    // tauri-build is an optional build-dependency enabled by the `desktop` feature; without it the
    // binary is the headless CLI and nothing here runs.
    #[cfg(feature = "desktop")]
    tauri_build::build();
}
