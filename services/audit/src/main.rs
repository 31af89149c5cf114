//! `tsunagu-audit [serve | migrate | verify [--json] | rebuild [--swap] | rotate-key]`

use std::process::ExitCode;

use audit::{app, settings::Settings};

#[tokio::main]
async fn main() -> ExitCode {
    host::main("tsunagu-audit", Settings::from_env, |settings, args| async move {
        let flag = |f: &str| args.iter().any(|a| a == f);
        match args.first().map(String::as_str) {
            None | Some("serve") => app::serve(settings, clock::from_env()?).await,
            Some("migrate") => app::migrate(&settings).await,
            // A log found altered is a verdict, not a failure to run: exit status 1.
            Some("verify") => {
                return Ok(match app::verify(&settings, flag("--json")).await? {
                    true => ExitCode::SUCCESS,
                    false => ExitCode::from(1),
                });
            }
            Some("rebuild") => app::rebuild(&settings, flag("--swap")).await,
            Some("rotate-key") => app::rotate_key(&settings, clock::from_env()?).await,
            Some(other) => Err(anyhow::anyhow!(
                "unknown command {other:?}; use serve, migrate, verify [--json], rebuild [--swap] or rotate-key"
            )),
        }
        .map(|()| ExitCode::SUCCESS)
    })
    .await
}
