//! `tsunagu-directory [serve | migrate | rebuild [--swap]]`

use std::process::ExitCode;

use directory::{app, settings::Settings};

#[tokio::main]
async fn main() -> ExitCode {
    host::main(
        "tsunagu-directory",
        Settings::from_env,
        |settings, args| async move {
            match args.first().map(String::as_str) {
                None | Some("serve") => app::serve(settings, clock::from_env()?).await,
                Some("migrate") => app::migrate(&settings).await,
                Some("rebuild") => {
                    app::rebuild(&settings, args.iter().any(|a| a == "--swap")).await
                }
                Some(other) => Err(anyhow::anyhow!(
                    "unknown command {other:?}; use serve, migrate or rebuild [--swap]"
                )),
            }
            .map(|()| ExitCode::SUCCESS)
        },
    )
    .await
}
