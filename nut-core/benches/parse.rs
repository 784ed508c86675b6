//! Parsing and formatting speed of the protocol (criterion; `cargo bench -p nut-core`).
//! Reported per line, so the figures read as lines per second.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nut_core::config::parse_upsd_users;
use nut_core::desc::Descriptions;
use nut_core::proto::{parse_reply, parse_request};
use nut_core::tokenizer::{tokenize, Tokenizer};
use nut_core::upsd::{Action, UpsDefinition, UpsdCore, UpsdSettings};
use std::hint::black_box;

const VARS: usize = 40;

fn requests() -> Vec<u8> {
    let mut text = Vec::new();
    for i in 0..1000 {
        text.extend_from_slice(match i % 4 {
            0 => "GET VAR myups ups.status\n".as_bytes(),
            1 => b"GET VAR myups battery.charge\n",
            2 => b"LIST VAR myups\n",
            _ => b"SET VAR myups ups.id \"My \\\"quoted\\\" UPS\"\n",
        });
    }
    text
}

fn server() -> UpsdCore {
    let users = parse_upsd_users("u", b"[u]\npassword = p\n").value;
    let ups = UpsDefinition {
        name: "myups".into(),
        driver: "dummy-ups".into(),
        desc: None,
    };
    let mut core = UpsdCore::new(
        vec![ups],
        users,
        UpsdSettings::default(),
        Descriptions::builtin(),
        7,
    );
    core.driver_connected_now(0, 0);
    let mut dump = String::from("SETINFO ups.status \"OL CHRG\"\n");
    for i in 0..VARS - 1 {
        dump.push_str(&format!("SETINFO bench.value{i:02} \"{}\"\n", 1000 + i));
    }
    dump.push_str("DATAOK\nDUMPDONE\n");
    for line in tokenize(dump.as_bytes()) {
        core.driver_line(0, 0, &line.words);
    }
    core.client_connected(0, 1, "127.0.0.1");
    core
}

fn bench(c: &mut Criterion) {
    let text = requests();
    let mut group = c.benchmark_group("protocol");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("tokenize+parse 1000 request lines", |b| {
        b.iter(|| {
            let mut tokenizer = Tokenizer::new();
            let mut lines = Vec::with_capacity(1000);
            tokenizer.feed(black_box(&text), &mut lines);
            for line in &lines {
                black_box(parse_request(&line.words));
            }
        })
    });
    let mut core = server();
    let get = vec![
        "GET".to_string(),
        "VAR".into(),
        "myups".into(),
        "ups.status".into(),
    ];
    group.throughput(Throughput::Elements(1));
    group.bench_function("upsd GET VAR (request to reply bytes)", |b| {
        b.iter(|| black_box(core.client_line(1, 1, black_box(&get))))
    });
    let list = vec!["LIST".to_string(), "VAR".into(), "myups".into()];
    group.throughput(Throughput::Elements(VARS as u64 + 2));
    group.bench_function("upsd LIST VAR of 40 variables (lines)", |b| {
        b.iter(|| black_box(core.client_line(1, 1, black_box(&list))))
    });
    let reply = match core.client_line(1, 1, &list).remove(0) {
        Action::Reply { text, .. } => text,
        other => panic!("unexpected {other:?}"),
    };
    group.bench_function("client parse of a LIST VAR reply (lines)", |b| {
        b.iter(|| {
            for line in black_box(&reply).lines() {
                black_box(parse_reply(line).ok());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
