//! Shell completion: clap_complete's generated script for the shell, plus (bash) a small addition that
//! completes the values only a run of pftls knows: policy names (`-p`, `policies show|check`)
//! and snapshot ids (`rollback --to`, `--around`, `backups show`), read from
//! `pftls policies list -q` and `pftls backups list -q` with the -c/--backup-dir/--policy-dir
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

/// The completion script for `shell`: the generated one and, for bash, the dynamic values
/// (other shells get the static script: subcommands and options; the addition is bash only
/// because bash is what the test machines can exercise; zsh runs the bash one under
/// `bashcompinit`).
pub fn script(shell: Shell) -> String {
    let mut cmd = crate::cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "pftls", &mut buf);
    let mut s = String::from_utf8_lossy(&buf).into_owned();
    if shell == Shell::Bash {
        s.push_str(BASH_ADDON);
    }
    s
}

/// `pftls completions SHELL`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell: bash (with policy names and snapshot ids), zsh, fish, elvish, powershell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Prints the script.
pub fn run(args: &CompletionsArgs) -> crate::error::CliResult<i32> {
    print!("{}", script(args.shell));
    Ok(0)
}
