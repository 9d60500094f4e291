//! Duplicate definitions whose effective value is not what a reader would assume: Postfix
//! uses the last main.cf definition, the last `-o` of a service and the last service entry.

use postfix_conf::display_value;

use crate::cx::{Cx, Draft};
use crate::finding::ids;

/// W050, W051, W052.
pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Draft>) {
    main_duplicates(cx, out);
    override_duplicates(cx, out);
    service_duplicates(cx, out);
}

fn main_duplicates(cx: &Cx<'_>, out: &mut Vec<Draft>) {
    let entries = cx.view.main.entries();
    let mut names: Vec<&str> = Vec::new();
    for e in &entries {
        if !names.contains(&e.name.as_str()) {
            names.push(&e.name);
        }
    }
    for name in names {
        let defs: Vec<_> = entries.iter().filter(|e| e.name == name).collect();
        let Some(last) = defs.last() else { continue };
        let differs = defs
            .iter()
            .any(|d| display_value(&d.value) != display_value(&last.value));
        if defs.len() < 2 || !differs {
            continue;
        }
        let earlier = defs[..defs.len() - 1]
            .iter()
            .map(|d| format!("main.cf:{} ({})", d.line, shown(&d.value)))
            .collect::<Vec<_>>()
            .join(", ");
        out.push(Draft::new(
            ids::DUPLICATE_MAIN,
            format!("main {name}"),
            Some(format!("main.cf:{}", last.line)),
            format!(
                "{name} is defined {} times with different values; Postfix uses the last one, {name} = {} \
                 (main.cf:{}), not {earlier}.",
                defs.len(),
                shown(&last.value),
                last.line
            ),
            format!("keep one definition: postconf -e '{name} = {}' rewrites the first and removes the others", display_value(&last.value)),
        ));
    }
}

fn override_duplicates(cx: &Cx<'_>, out: &mut Vec<Draft>) {
    for svc in cx.view.master.services() {
        let key = svc.key();
        let mut names: Vec<&str> = Vec::new();
        for o in &svc.overrides {
            if !names.contains(&o.name.as_str()) {
                names.push(&o.name);
            }
        }
        for name in names {
            let defs: Vec<_> = svc.overrides.iter().filter(|o| o.name == name).collect();
            let Some(last) = defs.last() else { continue };
            if defs.len() < 2
                || defs
                    .iter()
                    .all(|d| display_value(&d.value) == display_value(&last.value))
            {
                continue;
            }
            let earlier = defs[..defs.len() - 1]
                .iter()
                .map(|d| format!("-o {name}={} (master.cf:{})", shown(&d.value), d.line))
                .collect::<Vec<_>>()
                .join(", ");
            out.push(Draft::new(
                ids::DUPLICATE_OVERRIDE,
                format!("{key} -o {name}"),
                Some(format!("master.cf:{}", last.line)),
                format!(
                    "{key} sets {name} {} times with different values; the daemon uses the last, {name}={} \
                     (master.cf:{}), not {earlier}.",
                    defs.len(),
                    shown(&last.value),
                    last.line
                ),
                format!("keep one -o {name}=... on {key}: postconf -P '{key}/{name}={}' ", display_value(&last.value)).trim_end().to_string(),
            ));
        }
    }
}

fn service_duplicates(cx: &Cx<'_>, out: &mut Vec<Draft>) {
    let all = cx.view.master.services();
    for (i, s) in all.iter().enumerate() {
        let key = s.key();
        if all[..i].iter().any(|t| t.key() == key) {
            continue;
        }
        let lines: Vec<usize> = all
            .iter()
            .filter(|t| t.key() == key)
            .map(|t| t.line)
            .collect();
        let Some(last) = lines.last() else { continue };
        if lines.len() < 2 {
            continue;
        }
        let earlier = lines[..lines.len() - 1]
            .iter()
            .map(|l| format!("master.cf:{l}"))
            .collect::<Vec<_>>()
            .join(", ");
        out.push(Draft::new(
            ids::DUPLICATE_SERVICE,
            format!("service {key}"),
            Some(format!("master.cf:{last}")),
            format!(
                "master.cf defines {key} {} times; Postfix warns \"duplicate entry for service\" and uses the last \
                 (master.cf:{last}), so the settings at {earlier} have no effect.",
                lines.len()
            ),
            format!("delete or comment out the entries at {earlier}, or merge them into master.cf:{last}"),
        ));
    }
}

/// A value for messages: collapsed whitespace, `(empty)` for nothing.
fn shown(v: &str) -> String {
    let d = display_value(v);
    if d.is_empty() {
        "(empty)".into()
    } else {
        d
    }
}
