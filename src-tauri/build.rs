// The app's own commands are opted into Tauri's permission system, so the capability files in
// capabilities/ really decide which window may call them.
fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(paaf_desktop_commands::ALL)),
    )
    .expect("tauri build step");
}

#[path = "src/command_names.rs"]
mod paaf_desktop_commands;
