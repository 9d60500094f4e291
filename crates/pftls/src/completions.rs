//! Shell completion: clap_complete's generated script for the shell, plus (bash, zsh, fish) a
//! small addition that completes the values only a run of pftls knows: policy names (`-p`,
//! `policies show|check`) and snapshot ids (`rollback --to`, `--around`, `backups show`), read
//! from `pftls policies list -q` and `pftls backups list -q` with the -c/--backup-dir/--policy-dir
//! the user has typed so far.
//!
//! Why a generated script calling pftls back rather than clap_complete's dynamic engine: the
//! dynamic engine is behind clap_complete's `unstable-dynamic` feature (no stability promise,
//! and extra crates), and its registration changes per release; the generated scripts are
//! stable files a package can ship, and the addition only needs the two stable `-q` listings.

use clap_complete::Shell;

/// bash: a wrapper around the generated `_pftls` that answers value positions itself.
const BASH_ADDON: &str = r#"
# pftls: dynamic values (policy names, snapshot ids) on top of the generated completion.
_pftls_values() {
    local i w args=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        w="${COMP_WORDS[i]}"
        case "$w" in
            -c|--config-dir|--backup-dir|--policy-dir)
                args+=("$w" "${COMP_WORDS[i+1]}"); ((i++)) ;;
            --config-dir=*|--backup-dir=*|--policy-dir=*) args+=("$w") ;;
        esac
    done
    command "${PFTLS_COMPLETE_BIN:-pftls}" "${args[@]}" "$@" -q 2>/dev/null
}
_pftls_dynamic() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    local words=" ${COMP_WORDS[*]:1:COMP_CWORD-1} "
    local what=""
    case "$prev" in
        -p|--policy) what=policies ;;
        --to|--around) what=backups ;;
        show|check)
            case "$words" in
                *" policies "*) what=policies ;;
                *" backups "*) [ "$prev" = show ] && what=backups ;;
            esac ;;
    esac
    if [ -z "$what" ] && [[ "$words" == *" policies check "* ]]; then
        what=policies
    fi
    if [ -n "$what" ]; then
        COMPREPLY=($(compgen -W "$(_pftls_values "$what" list)" -- "$cur"))
        # A policy can also be a path to a YAML file.
        if [ "$what" = policies ] && [[ "$cur" == */* || "$cur" == .* ]]; then
            COMPREPLY+=($(compgen -f -- "$cur"))
        fi
        return 0
    fi
    _pftls "$@"
}
if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _pftls_dynamic -o nosort -o bashdefault -o default pftls
else
    complete -F _pftls_dynamic -o bashdefault -o default pftls
fi
"#;

/// zsh: the value lister and the two completers the generated specs are pointed at.
const ZSH_ADDON: &str = r#"
# pftls: dynamic values (policy names, snapshot ids) on top of the generated completion.
_pftls_values() {
    local i args=()
    for ((i = 2; i < CURRENT; i++)); do
        case "${words[i]}" in
            -c|--config-dir|--backup-dir|--policy-dir)
                args+=("${words[i]}" "${words[i+1]}"); ((i++)) ;;
            --config-dir=*|--backup-dir=*|--policy-dir=*) args+=("${words[i]}") ;;
        esac
    done
    command "${PFTLS_COMPLETE_BIN:-pftls}" "${args[@]}" "$@" -q 2>/dev/null
}
_pftls_policies() {
    local -a names
    names=(${(f)"$(_pftls_values policies list)"})
    _describe -t policies 'policy' names
    _files -g '*.y(a|)ml'
}
_pftls_snapshots() {
    local -a ids
    ids=(${(f)"$(_pftls_values backups list)"})
    _describe -t snapshots 'snapshot' ids
}
"#;

/// fish: completions are additive, so the values are extra `complete` lines.
const FISH_ADDON: &str = r#"
# pftls: dynamic values (policy names, snapshot ids) on top of the generated completion.
function __pftls_values
    set -l args
    set -l tokens (commandline -opc)
    set -l i 2
    while test $i -le (count $tokens)
        switch $tokens[$i]
            case -c --config-dir --backup-dir --policy-dir
                set -a args $tokens[$i] $tokens[(math $i + 1)]
                set i (math $i + 1)
            case '--config-dir=*' '--backup-dir=*' '--policy-dir=*'
                set -a args $tokens[$i]
        end
        set i (math $i + 1)
    end
    set -l bin pftls
    set -q PFTLS_COMPLETE_BIN; and set bin $PFTLS_COMPLETE_BIN
    command $bin $args $argv -q 2>/dev/null
end
complete -c pftls -s p -l policy -r -a '(__pftls_values policies list)'
complete -c pftls -l to -x -a '(__pftls_values backups list)'
complete -c pftls -l around -x -a '(__pftls_values backups list)'
complete -c pftls -n '__fish_seen_subcommand_from policies; and __fish_seen_subcommand_from show check' -a '(__pftls_values policies list)'
complete -c pftls -n '__fish_seen_subcommand_from backups; and __fish_seen_subcommand_from show' -x -a '(__pftls_values backups list)'
"#;

/// Points zsh's generated value specs of policies and snapshot ids at the dynamic completers.
fn zsh_dynamic(generated: &str) -> String {
    let mut out = String::with_capacity(generated.len() + ZSH_ADDON.len());
    for line in generated.split_inclusive('\n') {
        let l = if line.contains(":POLICY:_default'")
            || line.starts_with("':name -- Policy name or path:_default'")
            || line.starts_with("'*::files -- Policy files or names:_default'")
        {
            line.replace(":_default'", ":_pftls_policies'")
        } else if line.starts_with("'--to=[")
            || line.starts_with("'--around=[")
            || line.starts_with("':id -- Snapshot id")
        {
            line.replace(":_default'", ":_pftls_snapshots'")
        } else {
            line.to_string()
        };
        out.push_str(&l);
    }
    // The completers must exist before compdef runs the generated function.
    match out.find("\n_pftls() {") {
        Some(at) => out.insert_str(at + 1, ZSH_ADDON.trim_start()),
        None => out.push_str(ZSH_ADDON),
    }
    out
}

/// The completion script for `shell`: the generated one plus, for bash, zsh and fish, the
/// dynamic values (elvish and PowerShell get the static script: subcommands and options).
pub fn script(shell: Shell) -> String {
    let mut cmd = crate::cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "pftls", &mut buf);
    let mut s = String::from_utf8_lossy(&buf).into_owned();
    match shell {
        Shell::Bash => s.push_str(BASH_ADDON),
        Shell::Zsh => s = zsh_dynamic(&s),
        Shell::Fish => s.push_str(FISH_ADDON),
        _ => {}
    }
    s
}

/// `pftls completions SHELL`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish (with policy names and snapshot ids), elvish, powershell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Prints the script.
pub fn run(args: &CompletionsArgs) -> crate::error::CliResult<i32> {
    print!("{}", script(args.shell));
    Ok(0)
}
