//! `upscmd`: lists and runs instant commands, printed exactly as NUT 2.8.0's upscmd.
//!
//! As in NUT, the listing goes to stdout while the answer to a command (`OK`, the
//! tracking result with `-w`, or `Unexpected response from upsd: ERR ...`) goes to
//! stderr; exit code 1 only for failures before the result (a tracking result such as
//! `ERR UNKNOWN` still exits 0, the 2.8.0 quirk).
//!
//! Differences from NUT: when `-u` or `-p` is missing, NUT prompts on the terminal; this
//! upscmd prints `Error: ... required` and exits 1 instead. Request words are quoted
//! when they contain spaces or `=` (NUT sends the command value unquoted).

use clap::Parser;
use nut_bins::client::{
    self, block_on, connect, parse_timeout, request, wait_tracking, Conn, End, ReqError,
    INVALID_UPS,
};
use nut_core::clients::{format_cmd_listing, tracking_id, UPSCMD_USAGE};
use nut_core::proto::ErrCode;
use std::process::ExitCode;

/// NUT's DEFAULT_TRACKING_TIMEOUT, seconds.
const DEFAULT_TIMEOUT: u32 = 10;

use nut_bins::cli::upscmd::Args;

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            eprint!("{e}");
            print!("{UPSCMD_USAGE}");
            return ExitCode::SUCCESS;
        }
    };
    if args.help {
        print!("{UPSCMD_USAGE}");
        return ExitCode::SUCCESS;
    }
    if args.version {
        eprintln!("Network UPS Tools upscmd 2.8.0");
        return ExitCode::SUCCESS;
    }
    let mut conn = None;
    let end = match block_on(async {
        let end = run(&args, &mut conn).await;
        if let Some(conn) = conn.as_mut() {
            let _ = client::send(conn, &["LOGOUT"]).await;
        }
        end
    }) {
        Ok(end) => end,
        Err(e) => End::Fatal(format!("Error: {e}")),
    };
    client::finish(end, UPSCMD_USAGE)
}

async fn run(args: &Args, slot: &mut Option<Conn>) -> End {
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
    if args.list {
        return list_cmds(conn, &ups).await;
    }
    let Some(cmd) = args.rest.get(1) else {
        return End::Usage;
    };
    if !cmd.contains('.') {
        return End::Fatal("Error: old command names are not supported".to_string());
    }
    let (Some(user), Some(pass)) = (&args.user, &args.pass) else {
        return End::Fatal(
            "Error: -u <username> and -p <password> are required (no terminal prompt)".to_string(),
        );
    };
    if let Err(e) = request(conn, &["USERNAME", user]).await {
        return End::Fatal(format!("Set username failed: {}", e.message()));
    }
    if let Err(e) = request(conn, &["PASSWORD", pass]).await {
        return End::Fatal(format!("Set password failed: {}", e.message()));
    }
    if args.wait {
        match request(conn, &["SET", "TRACKING", "ON"]).await {
            Err(e) => {
                return End::Fatal(format!(
                    "Enabling command status tracking failed: {}",
                    e.message()
                ))
            }
            Ok(reply) if !reply.starts_with("OK") => {
                return End::Fatal(format!(
                    "Enabling command status tracking failed. upsd answered: {reply}"
                ))
            }
            Ok(_) => {}
        }
    }
    let mut words = vec!["INSTCMD", ups.as_str(), cmd.as_str()];
    if let Some(value) = args.rest.get(2) {
        words.push(value);
    }
    if let Err(e) = client::send(conn, &words).await {
        return End::Fatal(format!("Can't send instant command: {}", e.message()));
    }
    let reply = match client::read_line(conn).await {
        Ok(reply) => reply,
        Err(e) => return End::Fatal(format!("Instant command failed: {}", e.message())),
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

async fn list_cmds(conn: &mut Conn, ups: &str) -> End {
    let items = match client::list(conn, &["CMD", ups]).await {
        Ok(items) => items,
        Err(ReqError::Server(ErrCode::UnknownCommand)) => {
            return End::Fatal("Error: upsd is too old to support this query".to_string())
        }
        Err(e) => return End::Fatal(format!("Error: {}", e.message())),
    };
    let mut names = Vec::with_capacity(items.len());
    for words in items {
        if words.len() < 3 {
            return End::Fatal(format!(
                "Error: insufficient data (got {} args, need at least 3)",
                words.len()
            ));
        }
        names.push(words[2].clone());
    }
    let mut cmds = Vec::with_capacity(names.len());
    for name in names {
        let desc = match client::get(conn, &["CMDDESC", ups, &name]).await {
            Ok(words) => words.get(3).cloned(),
            Err(_) => None,
        };
        cmds.push((name, desc));
    }
    print!("{}", format_cmd_listing(ups, &cmds));
    End::Ok
}
