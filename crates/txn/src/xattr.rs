//! Copy extended attributes (the SELinux label above all) from an original file onto its
//! replacement, through libc because std has no xattr API.
//!
//! Copied: `security.selinux` (the label Postfix needs to read its config under SELinux),
//! `system.posix_acl_access` (ACLs) and every `user.*` attribute. Other namespaces
//! (`trusted.*`, `security.capability`, ...) have no business on a config file.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;

/// Whether an attribute name is one we carry over.
fn wanted(name: &[u8]) -> bool {
    name == b"security.selinux" || name == b"system.posix_acl_access" || name.starts_with(b"user.")
}

/// Errors meaning "this filesystem / file has no such attribute": not a failure for us.
fn ignorable(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::ENODATA) | Some(libc::ENOTSUP) | Some(libc::ENOSYS)
    )
}

fn cpath(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// Names of all extended attributes of `path` (empty when unsupported).
fn list(path: &CString) -> io::Result<Vec<Vec<u8>>> {
    // Retry a few times: the list can grow between the size query and the read.
    for _ in 0..4 {
        // SAFETY: size query with a null buffer of length 0.
        let size = unsafe { libc::listxattr(path.as_ptr(), std::ptr::null_mut(), 0) };
        if size < 0 {
            let err = io::Error::last_os_error();
            return if ignorable(&err) {
                Ok(Vec::new())
            } else {
                Err(err)
            };
        }
        if size == 0 {
            return Ok(Vec::new());
        }
        let mut buf = vec![0u8; size as usize];
        // SAFETY: buf is valid for buf.len() bytes.
        let got = unsafe { libc::listxattr(path.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if got < 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::ERANGE) {
                continue;
            }
            return if ignorable(&err) {
                Ok(Vec::new())
            } else {
                Err(err)
            };
        }
        buf.truncate(got as usize);
        return Ok(buf
            .split(|b| *b == 0)
            .filter(|n| !n.is_empty())
            .map(<[u8]>::to_vec)
            .collect());
    }
    Err(io::Error::other("extended attribute list keeps changing"))
}

/// Value of attribute `name` of `path`, `None` when absent/unsupported.
fn get(path: &CString, name: &CString) -> io::Result<Option<Vec<u8>>> {
    for _ in 0..4 {
        // SAFETY: size query with a null buffer of length 0.
        let size = unsafe { libc::getxattr(path.as_ptr(), name.as_ptr(), std::ptr::null_mut(), 0) };
        if size < 0 {
            let err = io::Error::last_os_error();
            return if ignorable(&err) { Ok(None) } else { Err(err) };
        }
        let mut buf = vec![0u8; size as usize];
        // SAFETY: buf is valid for buf.len() bytes.
        let got = unsafe {
            libc::getxattr(
                path.as_ptr(),
                name.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if got < 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::ERANGE) {
                continue;
            }
            return if ignorable(&err) { Ok(None) } else { Err(err) };
        }
        buf.truncate(got as usize);
        return Ok(Some(buf));
    }
    Err(io::Error::other("extended attribute keeps changing"))
}

/// Copy the wanted extended attributes of `src` onto the open file `dst`.
/// Returns the names copied. Attributes the destination filesystem does not support are skipped.
pub(crate) fn copy_xattrs(src: &Path, dst: &File) -> io::Result<Vec<String>> {
    let src_c = cpath(src)?;
    let mut copied = Vec::new();
    for name in list(&src_c)? {
        if !wanted(&name) {
            continue;
        }
        let name_c = CString::new(name.clone())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "xattr name with NUL"))?;
        let Some(value) = get(&src_c, &name_c)? else {
            continue;
        };
        // SAFETY: value is valid for value.len() bytes; fd is open for the call's duration.
        let rc = unsafe {
            libc::fsetxattr(
                dst.as_raw_fd(),
                name_c.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        };
        if rc != 0 {
            let err = io::Error::last_os_error();
            if !ignorable(&err) {
                return Err(err);
            }
            continue;
        }
        copied.push(OsStr::from_bytes(&name).to_string_lossy().into_owned());
    }
    Ok(copied)
}
