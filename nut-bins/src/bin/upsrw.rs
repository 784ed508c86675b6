//! `upsrw`: lists and sets read/write variables, printed exactly as NUT 2.8.0's upsrw.
//!
//! Listing: `LIST RW`, then per variable `GET DESC`, `GET TYPE` and, by type, `GET VAR`,
//! `LIST ENUM` or `LIST RANGE`; blocks on stdout. Setting: `USERNAME`, `PASSWORD`,
//! optionally `SET TRACKING ON`, then `SET VAR <ups> <var> "<value>"`; the answer (`OK`,
//! the tracking result, or `Unexpected response from upsd: ERR ...`, exit 1) goes to
//! stderr as in NUT.
//!
//! Differences from NUT: NUT prompts on the terminal for a missing `-u`, `-p` or
//! `=VALUE`; this upsrw prints `Error: ... required` and exits 1 instead.

use clap::Parser;
use nut_bins::client::{
    self, block_on, connect, parse_timeout, request, wait_tracking, Conn, End, ReqError,
    INVALID_UPS,
};
use nut_core::clients::{
    format_rw_enum, format_rw_header, format_rw_range, format_rw_simple, format_rw_unrecognized,
    rw_plan, split_setvar, tracking_id, RwKind, UPSRW_USAGE,
};
use nut_core::proto::ErrCode;
use nut_core::tokenizer::{quote, quote_if_needed};
use std::process::ExitCode;

/// NUT's DEFAULT_TRACKING_TIMEOUT, seconds.
const DEFAULT_TIMEOUT: u32 = 10;

use nut_bins::cli::upsrw::Args;

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            eprint!("{e}");
            print!("{UPSRW_USAGE}");
            return ExitCode::SUCCESS;
        }
    };
    if args.help {
        print!("{UPSRW_USAGE}");
        return ExitCode::SUCCESS;
    }
    if args.version {
        println!("Network UPS Tools upsrw 2.8.0");
        return ExitCode::SUCCESS;
    }
    let mut conn = None;
    let mut out = String::new();
    let end = match block_on(async {
        let end = run(&args, &mut conn, &mut out).await;
        if let Some(conn) = conn.as_mut() {
            let _ = client::send(conn, &["LOGOUT"]).await;
        }
        end
    }) {
        Ok(end) => end,
        Err(e) => End::Fatal(format!("Error: {e}")),
    };
    print!("{out}");
    client::finish(end, UPSRW_USAGE)
}

async fn run(args: &Args, slot: &mut Option<Conn>, out: &mut String) -> End {
    let timeout = match args.timeout.as_deref().map(parse_timeout) {
        None => DEFAULT_TIMEOUT,
        Some(Ok(t)) => t,
        Some(Err(message)) => return End::Fatal(message),
    };
    let Some(target) = args.rest.first() else {
        return End::Usage;
    };
    let Ok((ups, host, port)) = client::split_name(target) else {
        return End::Fatal(INVALID_UPS.to_string());
    };
    let conn = match connect(&host, port).await {
        Ok(conn) => slot.insert(conn),
        Err(message) => return End::Fatal(format!("Error: {message}")),
    };
    match args.set.as_deref() {
        Some(spec) => set_var(args, conn, &ups, spec, timeout).await,
        None => list_rw(conn, &ups, out).await,
    }
}

async fn set_var(args: &Args, conn: &mut Conn, ups: &str, spec: &str, timeout: u32) -> End {
    let (Some(user), Some(pass)) = (&args.user, &args.pass) else {
        return End::Fatal(
            "Error: -u <username> and -p <password> are required (no terminal prompt)".to_string(),
        );
    };
    let (var, Some(value)) = split_setvar(spec) else {
        return End::Fatal(
            "Error: a value is required: use -s VAR=VALUE (no terminal prompt)".to_string(),
        );
    };
    if let Err(e) = request(conn, &["USERNAME", user]).await {
        return End::Fatal(format!("Set username failed: {}", e.message()));
    }
    if let Err(e) = request(conn, &["PASSWORD", pass]).await {
        return End::Fatal(format!("Set password failed: {}", e.message()));
    }
    if !var.contains('.') {
        return End::Fatal("Error: old variable names are not supported".to_string());
    }
    if args.wait {
        match request(conn, &["SET", "TRACKING", "ON"]).await {
            Err(e) => {
                return End::Fatal(format!(
                    "Enabling set variable status tracking failed: {}",
                    e.message()
                ))
            }
            Ok(reply) if !reply.starts_with("OK") => {
                return End::Fatal(format!(
                    "Enabling set variable status tracking failed. upsd answered: {reply}"
                ))
            }
            Ok(_) => {}
        }
    }
    // NUT always quotes the value: SET VAR <ups> <var> "<value>".
    let line = format!(
        "SET VAR {} {} {}",
        quote_if_needed(ups),
        quote_if_needed(var),
        quote(value)
    );
    if let Err(e) = conn.send(&line).await {
        return End::Fatal(format!("Can't set variable: {}", client::io_text(&e)));
    }
    let reply = match client::read_line(conn).await {
        Ok(reply) => reply,
        Err(e) => return End::Fatal(format!("Set variable failed: {}", e.message())),
    };
    if !reply.starts_with("OK") {
        return End::Fatal(format!("Unexpected response from upsd: {reply}"));
    }
    let id = match tracking_id(&reply) {
        Some(id) if args.wait => id.to_string(),
        _ => {
            eprintln!("{reply}");
            return End::Ok;
        }
    };
    match wait_tracking(conn, &id, timeout).await {
        Ok(result) => {
            eprintln!("{result}");
            End::Ok
        }
        Err(message) => End::Fatal(message),
    }
}

async fn list_rw(conn: &mut Conn, ups: &str, out: &mut String) -> End {
    let items = match client::list(conn, &["RW", ups]).await {
        Ok(items) => items,
        Err(ReqError::Server(ErrCode::UnknownCommand)) => {
            return End::Fatal("Error: upsd is too old to support this query".to_string())
        }
        Err(e) => return End::Fatal(format!("Error: {}", e.message())),
    };
    let mut names = Vec::with_capacity(items.len());
    for words in items {
        if words.len() < 4 {
            return End::Fatal(format!(
                "Error: insufficient data (got {} args, need at least 4)",
                words.len()
            ));
        }
        names.push(words[2].clone());
    }
    for var in names {
        let desc = get_data(conn, "DESC", ups, &var).await;
        out.push_str(&format_rw_header(&var, desc.as_deref()));
        if let End::Fatal(message) = print_type(conn, ups, &var, out).await {
            return End::Fatal(message);
        }
        out.push('\n');
    }
    End::Ok
}

/// `GET <kind> <ups> <var>`: the fourth word, or `None` on any failure.
async fn get_data(conn: &mut Conn, kind: &str, ups: &str, var: &str) -> Option<String> {
    client::get(conn, &[kind, ups, var])
        .await
        .ok()
        .and_then(|words| words.get(3).cloned())
}

async fn print_type(conn: &mut Conn, ups: &str, var: &str, out: &mut String) -> End {
    let type_words = match client::get(conn, &["TYPE", ups, var]).await {
        Ok(words) => words[3..].to_vec(),
        Err(_) => {
            out.push_str("Unknown type\n");
            return End::Ok;
        }
    };
    let plan = rw_plan(&type_words);
    out.push_str(&format_rw_unrecognized(&plan.unrecognized));
    let what = match plan.kind {
        RwKind::Nothing => return End::Ok,
        RwKind::String(_) => "do_string",
        RwKind::Number => "do_number",
        RwKind::Enum(_) => "do_enum",
        RwKind::Range => "do_range",
    };
    let Some(value) = get_data(conn, "VAR", ups, var).await else {
        return End::Fatal(format!("{what}: can't get current value of {var}"));
    };
    match plan.kind {
        RwKind::Enum(base) => {
            let items = match client::list(conn, &["ENUM", ups, var]).await {
                Ok(items) => items,
                Err(e) => return End::Fatal(format!("Error: {}", e.message())),
            };
            let mut options = Vec::with_capacity(items.len());
            for words in items {
                if words.len() < 4 {
                    return End::Fatal(format!(
                        "Error: insufficient data (got {} args, need at least 4)",
                        words.len()
                    ));
                }
                options.push(words[3].clone());
            }
            out.push_str(&format_rw_enum(base, &value, &options));
        }
        RwKind::Range => {
            let items = match client::list(conn, &["RANGE", ups, var]).await {
                Ok(items) => items,
                Err(e) => return End::Fatal(format!("Error: {}", e.message())),
            };
            let mut ranges = Vec::with_capacity(items.len());
            for words in items {
                if words.len() < 5 {
                    return End::Fatal(format!(
                        "Error: insufficient data (got {} args, need at least 4)",
                        words.len()
                    ));
                }
                ranges.push((words[3].clone(), words[4].clone()));
            }
            out.push_str(&format_rw_range(&value, &ranges));
        }
        kind => out.push_str(&format_rw_simple(&kind, &value)),
    }
    End::Ok
}
