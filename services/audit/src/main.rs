//! `tsunagu-audit [serve | migrate | verify [--json] | rebuild [--swap] | rotate-key]`

use audit::{app, settings::Settings};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let _telemetry = telemetry::init("tsunagu-audit");
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tsunagu-audit: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    let result = match args.first().map(String::as_str) {
        None | Some("serve") => match clock::from_env() {
            Ok(clock) => app::serve(settings, clock).await,
            Err(e) => Err(e.into()),
        },
        Some("migrate") => app::migrate(&settings).await,
        Some("verify") => match app::verify(&settings, flag("--json")).await {
            Ok(true) => Ok(()),
            Ok(false) => return std::process::ExitCode::from(1),
            Err(e) => Err(e),
        },
        Some("rebuild") => app::rebuild(&settings, flag("--swap")).await,
        Some("rotate-key") => match clock::from_env() {
            Ok(clock) => app::rotate_key(&settings, clock).await,
            Err(e) => Err(e.into()),
        },
        Some(other) => Err(anyhow::anyhow!(
            "unknown command {other:?}; use serve, migrate, verify [--json], rebuild [--swap] or rotate-key"
        )),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "tsunagu-audit failed");
            eprintln!("tsunagu-audit: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
