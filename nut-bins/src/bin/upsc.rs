//! `upsc`: lists UPSes, variables and clients of a upsd, printed exactly as NUT's upsc.

use clap::Parser;
use nut_bins::client;
use nut_core::config::parse_system_name;
use nut_core::upsc::{
    format_json_array, format_json_object, format_ups_listing, format_var_listing, json_string,
};
use std::process::ExitCode;

use nut_bins::cli::upsc::Args;

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(&args)) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            if args.json {
                println!("{{\"error\": {}}}", json_string(&message));
            } else {
                eprintln!("Error: {message}");
            }
            ExitCode::FAILURE
        }
    }
}

fn host_port(text: Option<&str>) -> Result<(String, u16), String> {
    let text = text.unwrap_or("localhost");
    let system = format!("x@{text}");
    let (_, host, port) = parse_system_name(&system)?;
    Ok((host, port))
}

async fn run(args: &Args) -> Result<String, String> {
    if args.list || args.list_desc {
        let (host, port) = host_port(args.target.as_deref())?;
        let mut conn = client::connect(&host, port).await?;
        let items = client::list(&mut conn, &["UPS"])
            .await
            .map_err(|e| e.message())?;
        let upses: Vec<(String, String)> = items
            .into_iter()
            .filter(|w| w.len() >= 3)
            .map(|w| (w[1].clone(), w[2].clone()))
            .collect();
        let _ = conn.send("LOGOUT").await;
        return Ok(if args.json && args.list_desc {
            format_json_object(&upses)
        } else if args.json {
            format_json_array(&upses.into_iter().map(|(n, _)| n).collect::<Vec<_>>())
        } else {
            format_ups_listing(&upses, args.list_desc)
        });
    }
    let target = args
        .target
        .clone()
        .ok_or_else(|| "no UPS given".to_string())?;
    let (ups, host, port) = parse_system_name(&target)?;
    let mut conn = client::connect(&host, port).await?;
    let result = if args.clients {
        client::list(&mut conn, &["CLIENT", &ups])
            .await
            .map(|items| {
                let addrs: Vec<String> = items
                    .into_iter()
                    .filter_map(|w| w.get(2).cloned())
                    .collect();
                if args.json {
                    format_json_array(&addrs)
                } else {
                    addrs.iter().map(|a| format!("{a}\n")).collect()
                }
            })
    } else if let Some(var) = &args.var {
        if !var.contains('.') {
            return Err("old-style variable names are not supported".to_string());
        }
        client::get(&mut conn, &["VAR", &ups, var])
            .await
            .map(|words| {
                let value = words.get(3).cloned().unwrap_or_default();
                if args.json {
                    format!("{}\n", json_string(&value))
                } else {
                    format!("{value}\n")
                }
            })
    } else {
        client::list(&mut conn, &["VAR", &ups]).await.map(|items| {
            let vars: Vec<(String, String)> = items
                .into_iter()
                .filter(|w| w.len() >= 4)
                .map(|w| (w[2].clone(), w[3].clone()))
                .collect();
            if args.json {
                format_json_object(&vars)
            } else {
                format_var_listing(&vars)
            }
        })
    };
    let _ = conn.send("LOGOUT").await;
    result.map_err(|e| e.message())
}
