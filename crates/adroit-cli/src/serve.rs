//! `adroit serve` and `adroit token create|revoke|list`: the doors of adroit-serve. They
//! parse arguments, print, and call `adroit_serve`; the service and the token file live
//! there.

use adroit_serve::tokens;
use clap::{Args, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub struct ServeArgs {
    /// The run folder to serve (from `adroit run --out RUN_DIR`); reloaded when its
    /// run.json changes, or on SIGHUP.
    #[arg(long)]
    pub run: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// The tokens file (from `adroit token create`; default adroit-tokens.json here).
    #[arg(long, conflicts_with = "no_auth")]
    pub tokens: Option<PathBuf>,
    /// Serve without tokens (only on a loopback address).
    #[arg(long)]
    pub no_auth: bool,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = adroit_serve::DEFAULT_MAX_BODY)]
    pub max_body: usize,
    /// Seconds a request may take before it is answered with 503.
    #[arg(long, default_value_t = 30.0)]
    pub timeout: f64,
}

#[derive(Args)]
pub struct TokenArgs {
    /// The tokens file (default adroit-tokens.json in the current folder).
    #[arg(long, global = true)]
    pub tokens: Option<PathBuf>,
    #[command(subcommand)]
    pub command: TokenCommand,
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once; only its SHA-256 hash is stored.
    Create {
        #[arg(long)]
        name: String,
    },
    /// Revoke the token with this name (a running server refuses it at once).
    Revoke {
        #[arg(long)]
        name: String,
    },
    /// Names, creation and revocation times (never the hashes).
    List,
}

fn tokens_path(p: Option<PathBuf>) -> PathBuf {
    p.unwrap_or_else(|| PathBuf::from(tokens::DEFAULT_FILE))
}

pub fn run_serve(args: ServeArgs) -> Result<ExitCode, String> {
    let bind: SocketAddr = args.bind.parse().map_err(|_| {
        format!(
            "--bind {:?}: write an IP address and a port, e.g. 127.0.0.1:8080",
            args.bind
        )
    })?;
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return Err(format!(
            "--timeout {}: give a number of seconds above 0",
            args.timeout
        ));
    }
    let tokens = if args.no_auth {
        None
    } else {
        let path = tokens_path(args.tokens);
        if !path.is_file() {
            return Err(format!(
                "no tokens file at {}: create a token with `adroit token create --name NAME{}`, or serve on loopback with --no-auth",
                path.display(),
                if path == std::path::Path::new(tokens::DEFAULT_FILE) {
                    String::new()
                } else {
                    format!(" --tokens {}", path.display())
                }
            ));
        }
        Some(path)
    };
    let config = adroit_serve::Config {
        max_body: args.max_body,
        timeout: Duration::from_secs_f64(args.timeout),
        ..adroit_serve::Config::new(&args.run, bind, tokens)
    };
    let auth = if config.tokens.is_some() {
        "bearer tokens"
    } else {
        "no auth"
    };
    adroit_serve::serve(config, |addr| {
        eprintln!(
            "adroit serve: {} on http://{addr} ({auth}); OpenAPI at http://{addr}/openapi.json; Ctrl-C stops",
            args.run.display()
        );
    })
    .map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

pub fn run_token(args: TokenArgs) -> Result<ExitCode, String> {
    let path = tokens_path(args.tokens);
    match args.command {
        TokenCommand::Create { name } => {
            let token = tokens::create(&path, &name).map_err(|e| e.to_string())?;
            println!("{token}");
            eprintln!(
                "created token {name:?} in {} (shown once; only its hash is stored). Use it as: Authorization: Bearer TOKEN",
                path.display()
            );
        }
        TokenCommand::Revoke { name } => {
            tokens::revoke(&path, &name).map_err(|e| e.to_string())?;
            eprintln!("revoked token {name:?} in {}", path.display());
        }
        TokenCommand::List => {
            let list = tokens::list(&path).map_err(|e| e.to_string())?;
            let mut t = crate::output::table();
            t.set_header(["name", "created", "revoked"]);
            for tok in &list {
                t.add_row([
                    tok.name.clone(),
                    tok.created.clone(),
                    tok.revoked.clone().unwrap_or_else(|| "—".into()),
                ]);
            }
            println!("{t}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
