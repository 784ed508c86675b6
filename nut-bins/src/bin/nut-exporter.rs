//! `nut-exporter`: Prometheus metrics for the UPSes of any upsd (NUT's own included),
//! with DRuggeri/nut_exporter's names, flags, environment variables and paths, so it
//! drops in where nut_exporter runs. Each scrape connects to upsd, reads `LIST UPS` and
//! `LIST VAR`, and renders the same text as upsd's own `--metrics` endpoint.
//!
//! Paths: `/ups_metrics` (nut_exporter's; `?ups=<name>` picks one UPS, `?server=`,
//! `?variables=`, `?statuses=` override the flags) and `/metrics` (the same, every
//! UPS). Unlike nut_exporter, several UPSes in one scrape are fine: each series has a
//! `ups` label.

use clap::Parser;
use nut_bins::client;
use nut_bins::http::{split_target, Response};
use nut_bins::seam::Net;
use nut_core::desc::Descriptions;
use nut_core::metrics::{render, Selection, UpsSample, CONTENT_TYPE};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// How long a scrape waits for upsd before failing.
const UPSD_TIMEOUT: Duration = Duration::from_secs(10);

use nut_bins::cli::nut_exporter::Args;

fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

async fn collect(
    server: &str,
    port: u16,
    login: Option<(String, String)>,
    only: Option<&str>,
) -> Result<Vec<UpsSample>, String> {
    let mut conn = client::connect(server, port).await?;
    if let Some((user, password)) = login {
        // As nut_exporter: a failed login is not fatal, reading variables rarely needs it.
        let _ = client::request(&mut conn, &["USERNAME", &user]).await;
        let _ = client::request(&mut conn, &["PASSWORD", &password]).await;
    }
    let names: Vec<String> = match only {
        Some(name) => vec![name.to_string()],
        None => client::list(&mut conn, &["UPS"])
            .await
            .map_err(|e| e.message())?
            .into_iter()
            .filter_map(|words| words.get(1).cloned())
            .collect(),
    };
    let mut out = Vec::new();
    for name in names {
        let vars = client::list(&mut conn, &["VAR", &name])
            .await
            .map_err(|e| format!("UPS {name}: {}", e.message()))?
            .into_iter()
            .filter_map(|words| Some((words.get(2)?.clone(), words.get(3)?.clone())))
            .collect();
        out.push(UpsSample {
            name,
            vars,
            stale: None,
            driver_connected: None,
        });
    }
    let _ = client::request(&mut conn, &["LOGOUT"]).await;
    Ok(out)
}

async fn scrape(args: Arc<Args>, descriptions: Arc<Descriptions>, target: String) -> Response {
    let (path, query) = split_target(&target);
    if path != args.path && path != "/metrics" {
        return Response::not_found();
    }
    let param = |key: &str| {
        query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let server = param("server").unwrap_or_else(|| args.server.clone());
    let mut selection = Selection {
        variables: split_list(&param("variables").unwrap_or_else(|| args.variables.clone())),
        statuses: split_list(&param("statuses").unwrap_or_else(|| args.statuses.clone())),
    };
    if path == "/metrics" && param("variables").is_none() {
        selection = Selection::all();
    }
    let login = args.username.clone().and_then(|user| {
        std::env::var("NUT_EXPORTER_PASSWORD")
            .ok()
            .map(|p| (user, p))
    });
    let ups = param("ups");
    let result = tokio::time::timeout(
        UPSD_TIMEOUT,
        collect(&server, args.port, login, ups.as_deref()),
    )
    .await
    .unwrap_or_else(|_| {
        Err(format!(
            "upsd at {server} did not answer within {UPSD_TIMEOUT:?}"
        ))
    });
    match result {
        Ok(upses) => Response {
            status: "200 OK",
            content_type: CONTENT_TYPE,
            body: render(&upses, None, &selection, &descriptions),
        },
        // A failed scrape must not look like a UPS without data: Prometheus marks the
        // target down (up == 0) on a 5xx.
        Err(e) => Response {
            status: "503 Service Unavailable",
            content_type: "text/plain; charset=utf-8",
            body: format!("{e}\n"),
        },
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let listen = if args.listen.starts_with(':') {
        format!("0.0.0.0{}", args.listen)
    } else {
        args.listen.clone()
    };
    let descriptions = Arc::new(
        std::fs::read(nut_bins::upsd::SYSTEM_CMDVARTAB)
            .map(|t| Descriptions::parse(&t))
            .unwrap_or_else(|_| Descriptions::builtin()),
    );
    let args = Arc::new(args);
    let result = nut_bins::real::runtime().and_then(|rt| {
        rt.block_on(async move {
            let net = nut_bins::real::TokioNet::new("/nonexistent");
            let listener = net.bind(&listen).await?;
            eprintln!(
                "nut-exporter: serving {} and /metrics on {listen}",
                args.path
            );
            nut_bins::http::serve::<nut_bins::real::TokioNet, _, _>(listener, move |target| {
                scrape(args.clone(), descriptions.clone(), target)
            })
            .await;
            Ok::<(), std::io::Error>(())
        })
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Fatal error: {e}");
            ExitCode::FAILURE
        }
    }
}
