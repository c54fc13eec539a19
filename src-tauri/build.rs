// The app's own commands are opted into Tauri's permission system, so the capability files in
// capabilities/ really decide which window may call them.
#[macro_use]
#[path = "src/command_list.rs"]
mod command_list;

const COMMANDS: &[&str] = paaf_commands!(command_names);

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build step");
}
