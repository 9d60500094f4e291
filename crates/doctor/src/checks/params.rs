//! postconf's own parameter warnings: a `name=value` nothing uses (the usual sign of a typo, or a
//! name this Postfix version does not have) and a `$name` with no value anywhere. The rules are
//! postconf's "used parameter" scan (`postfix_conf::used_params`) for the target version.

use postfix_conf::used_params::UsageKind;

use crate::cx::{Cx, Draft};
use crate::finding::ids;

/// W053, W054.
pub(crate) fn check(cx: &Cx<'_>, out: &mut Vec<Draft>) {
    let catalogue = cx.view.catalogue;
    let usage = catalogue.usage(cx.view.main, cx.view.master);
    for w in &usage.warnings {
        let file = w.file.as_str();
        let location = w.line.map(|l| format!("{file}:{l}"));
        let draft = match &w.kind {
            UsageKind::Unused { name, value } => {
                let hint = catalogue
                    .suggest(name)
                    .map(|s| format!("; did you mean {s}?"))
                    .unwrap_or_default();
                Draft::new(
                    ids::UNUSED_PARAMETER,
                    format!("{file} {name}"),
                    location,
                    format!(
                        "{name} = {value} is not a parameter of Postfix {} and nothing refers to it \
                         (postconf: \"unused parameter\"){hint}",
                        catalogue.version()
                    ),
                    format!("correct the name, or remove the line from {file}"),
                )
            }
            UsageKind::ReadOnly { name, value } => Draft::new(
                ids::UNUSED_PARAMETER,
                format!("{file} {name}"),
                location,
                format!(
                    "{name} = {value} is ignored: Postfix computes {name} itself (postconf: \
                     \"read-only parameter assignment\")"
                ),
                format!("remove the line from {file}"),
            ),
            UsageKind::Removed { name, instead } => Draft::new(
                ids::UNUSED_PARAMETER,
                format!("{file} {name}"),
                location,
                format!(
                    "{name} is no longer supported by Postfix {} and is ignored",
                    catalogue.version()
                ),
                format!("instead, {instead}"),
            ),
            UsageKind::Undefined { name } => Draft::new(
                ids::UNDEFINED_PARAMETER,
                format!("{file} ${name}"),
                Some(file.to_string()),
                format!(
                    "${name} is used in {file} but has no value anywhere: it expands to nothing \
                     (postconf: \"undefined parameter\")"
                ),
                format!("define {name} in main.cf, or correct the reference"),
            ),
            // Deprecated TLS booleans are W031's subject.
            UsageKind::Deprecated { .. } => continue,
        };
        out.push(draft);
    }
}
