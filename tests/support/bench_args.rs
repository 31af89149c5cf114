//! Command-line flags of the benchmark binaries: `--name value` or `--name=value`, and
//! `-h`/`--help` printing the binary's usage.

use anyhow::{Context, bail};

/// The flags given, in order, as (name, value). Prints `usage` and exits on `--help`.
pub fn flags(usage: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            println!("{usage}");
            std::process::exit(0);
        }
        let (name, value) = match arg.split_once('=') {
            Some((name, value)) => (name.to_owned(), value.to_owned()),
            None => {
                let value = args
                    .next()
                    .with_context(|| format!("{arg} needs a value"))?;
                (arg, value)
            }
        };
        out.push((name, value));
    }
    Ok(out)
}

/// A whole number, `_` and `,` allowed as separators (`2_000_000`), at least `min`.
pub fn number(name: &str, value: &str, min: u64) -> anyhow::Result<u64> {
    let n: u64 = value
        .replace(['_', ','], "")
        .parse()
        .with_context(|| format!("{name} {value:?} is not a number"))?;
    if n < min {
        bail!("{name} must be at least {min}");
    }
    Ok(n)
}
