//! The `encore` binary: parse the command line, then serve until SIGTERM or Ctrl-C.

use clap::Parser;

/// mimalloc: the request path allocates small objects across threads, where glibc's malloc
/// showed up at the top of the profile. Built without transparent huge pages (Cargo.toml).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use encore::config::{Cli, Command};
use encore::{Application, telemetry};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let settings = match cli.command {
        Some(Command::Serve(s)) => *s,
        Some(Command::VerifyTicket(v)) => return encore::tickets::verify_offline(&v.code, &v.key),
        None => cli.serve,
    };
    telemetry::init_logs(&settings.log_format);
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e.log_detail(), "encore could not start");
            return std::process::ExitCode::FAILURE;
        }
    };
    match app.run_until_stopped(shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e.log_detail(), "encore stopped with an error");
            std::process::ExitCode::FAILURE
        }
    }
}

/// SIGTERM (what orchestrators send) or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: draining requests and saving the queue");
}
