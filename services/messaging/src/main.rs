//! `tsunagu-messaging [serve | migrate | rebuild [--swap]]`

use messaging::{app, settings::Settings};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let _telemetry = telemetry::init("tsunagu-messaging");
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tsunagu-messaging: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None | Some("serve") => match clock::from_env() {
            Ok(clock) => app::serve(settings, clock).await,
            Err(e) => Err(e.into()),
        },
        Some("migrate") => app::migrate(&settings).await,
        Some("rebuild") => app::rebuild(&settings, args.iter().any(|a| a == "--swap")).await,
        Some(other) => Err(anyhow::anyhow!(
            "unknown command {other:?}; use serve, migrate or rebuild [--swap]"
        )),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "tsunagu-messaging failed");
            eprintln!("tsunagu-messaging: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
