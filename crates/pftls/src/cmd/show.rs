//! `pftls show`: effective TLS settings with provenance.

use pftls_policy::effective::{is_tls_related, CORE_TLS_PARAMS};
use pftls_policy::{ConfigView, Effective, Source};

use crate::cli::{Format, ShowArgs};
use crate::context::Ctx;
use crate::error::CliResult;
use crate::output::{bold, print_report, topology_lines};

/// The smtpd parameters whose effective per-service value `show` reports for inbound services.
pub const SERVICE_TLS_PARAMS: &[&str] = &[
    "smtpd_tls_security_level",
    "smtpd_tls_wrappermode",
    "smtpd_tls_auth_only",
    "smtpd_sasl_auth_enable",
    "smtpd_tls_protocols",
    "smtpd_tls_mandatory_protocols",
    "smtpd_tls_ciphers",
    "smtpd_tls_mandatory_ciphers",
    "smtpd_tls_exclude_ciphers",
    "smtpd_tls_cert_file",
    "smtpd_tls_key_file",
    "smtpd_tls_chain_files",
    "smtpd_tls_loglevel",
];

/// One row of `show --format json`.
#[derive(serde::Serialize)]
pub struct ParamRow {
    /// `main` or `SERVICE/TYPE`.
    pub scope: String,
    /// Parameter name.
    pub name: String,
    /// Raw value.
    pub value: String,
    /// `main.cf:N`, `master.cf:N`, `default` or `unset`.
    pub source: String,
    /// True for a service row whose value is not a master.cf `-o` of that service (inherited
    /// from main.cf or the default): such rows are absent from `postconf -P`.
    pub inherited: bool,
}

/// `show --format json`.
#[derive(serde::Serialize)]
pub struct ShowReport<'a> {
    /// Target version.
    pub postfix_version: String,
    /// Configuration directory.
    pub config_dir: String,
    /// The effective parameters.
    pub parameters: Vec<ParamRow>,
    /// Warnings.
    pub warnings: Vec<String>,
    /// Every master.cf service with its role and effective TLS level.
    pub topology: &'a host::topology::Topology,
}

/// Runs `show`.
pub fn run(ctx: &Ctx, args: &ShowArgs) -> CliResult<i32> {
    let host = ctx.host()?;
    let (main, master) = (&host.main, &host.master);
    let view = host.view();
    let params = collect(&view, args.all);
    let notes = warnings(main, master, &host.notes, &host.catalogue);

    match ctx.format {
        Format::Json => {
            let parameters = params
                .iter()
                .map(|e| ParamRow {
                    scope: e.scope.clone(),
                    name: e.name.clone(),
                    value: e.value.clone(),
                    source: e.source.to_string(),
                    inherited: e.scope != "main" && !matches!(e.source, Source::Master(_)),
                })
                .collect();
            print_report(&ShowReport {
                postfix_version: host.version.to_string(),
                config_dir: ctx.config_dir.display().to_string(),
                parameters,
                warnings: notes,
                topology: &host.topology,
            });
        }
        Format::Text => {
            println!(
                "{} {} — Postfix {}",
                bold("pftls show", ctx.color),
                ctx.config_dir.display(),
                host.version
            );
            println!("\n{}", bold("listeners", ctx.color));
            for l in topology_lines(host) {
                println!("{l}");
            }
            // One aligned table per scope: name, where the value comes from, then the value
            // (last, so that a long value wraps under itself instead of shifting the columns).
            let width = crate::text::width();
            let mut table = crate::text::Table::new(2).max_share(3, 4);
            let mut scope = String::new();
            for e in &params {
                if e.scope != scope {
                    if !table.is_empty() {
                        print!("{}", table.render(width));
                        table = crate::text::Table::new(2).max_share(3, 4);
                    }
                    scope = e.scope.clone();
                    let header = if scope == "main" {
                        "main.cf".to_string()
                    } else {
                        let line = master
                            .service(&scope)
                            .map(|s| format!(" (master.cf:{}, {})", s.line, s.command))
                            .unwrap_or_default();
                        format!("{scope}{line}")
                    };
                    println!("\n{}", bold(&header, ctx.color));
                }
                let value = if e.value.is_empty() {
                    "(empty)".to_string()
                } else {
                    crate::text::one_line(&postfix_conf::display_value(&e.value))
                };
                let inherited = if e.scope != "main" && !matches!(e.source, Source::Master(_)) {
                    " (inherited)"
                } else {
                    ""
                };
                table.row([
                    e.name.clone(),
                    e.source.to_string(),
                    format!("{value}{inherited}"),
                ]);
            }
            print!("{}", table.render(width));
            for w in notes {
                eprintln!("warning: {w}");
            }
        }
    }
    Ok(0)
}

/// The parameters `show` prints, in display order: main.cf first, then services in file order.
pub fn collect(view: &ConfigView<'_>, all: bool) -> Vec<Effective> {
    let mut out = Vec::new();
    let mut main_names: Vec<String> = CORE_TLS_PARAMS.iter().map(|s| s.to_string()).collect();
    if all {
        // Exactly the names postconf -n lists (its used-parameter rules, issue 15).
        for name in view.catalogue.usage(view.main, view.master).listed {
            if !main_names.contains(&name) {
                main_names.push(name);
            }
        }
    } else {
        for e in &view.explicit_main() {
            if is_tls_related(&e.name) && !main_names.contains(&e.name) {
                main_names.push(e.name.clone());
            }
        }
    }
    main_names.sort();
    for name in &main_names {
        let e = view.main_value(name);
        if e.source != Source::Unset {
            out.push(e);
        }
    }
    let mut seen = Vec::new();
    for svc in view.master.services().iter().rev() {
        // Duplicated entries: Postfix uses the last one, so report only that.
        if seen.contains(&svc.key()) {
            continue;
        }
        seen.push(svc.key());
    }
    seen.reverse();
    for key in seen {
        let Some(svc) = view.master.service(&key) else {
            continue;
        };
        let inbound = matches!(svc.command.as_str(), "smtpd" | "postscreen" | "tlsproxy");
        let mut names: Vec<String> = svc
            .effective_overrides()
            .into_iter()
            .filter(|o| all || is_tls_related(&o.name))
            .map(|o| o.name)
            .collect();
        if inbound && svc.command == "smtpd" {
            names.extend(SERVICE_TLS_PARAMS.iter().map(|s| s.to_string()));
        }
        names.sort();
        names.dedup();
        for name in names {
            let e = view.value(&key, &name);
            if e.source != Source::Unset {
                out.push(e);
            }
        }
    }
    out
}

fn warnings(
    main: &postfix_conf::MainCf,
    master: &postfix_conf::MasterCf,
    extra: &[String],
    catalogue: &pftls_policy::Catalogue,
) -> Vec<String> {
    let mut w: Vec<String> = extra.to_vec();
    w.extend(catalogue.approximation());
    // postconf's unused / undefined parameter warnings (usually typos).
    w.extend(catalogue.usage(main, master).warnings.iter().map(|x| {
        let at = x.line.map(|l| format!(":{l}")).unwrap_or_default();
        format!("{}{at}: {}", x.file.as_str(), x.message())
    }));
    w.extend(
        main.warnings()
            .into_iter()
            .map(|x| format!("main.cf:{}: {}", x.line, x.message)),
    );
    w.extend(
        master
            .warnings()
            .into_iter()
            .map(|x| format!("master.cf:{}: {}", x.line, x.message)),
    );
    w
}
