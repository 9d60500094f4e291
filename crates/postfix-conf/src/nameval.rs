//! `split_nameval()` (util/split_nameval.c): `name = value` on a logical line.

use crate::lines::{is_space, trim};
use nom::bytes::complete::{tag, take_till, take_while};
use nom::IResult;

/// Postfix's message when the text before `=` is empty.
pub(crate) const MISSING_NAME: &str = "missing attribute name";
/// Postfix's message when no `=` follows the name.
pub(crate) const MISSING_EQ: &str = "missing '=' after attribute name";

/// Leading blanks, the name (up to whitespace or `=`), blanks.
fn name_part(i: &[u8]) -> IResult<&[u8], &[u8]> {
    let (i, _) = take_while(is_space)(i)?;
    let (i, name) = take_till(|c| is_space(c) || c == b'=')(i)?;
    let (i, _) = take_while(is_space)(i)?;
    Ok((i, name))
}

/// `=` then the trimmed value.
fn value_part(i: &[u8]) -> IResult<&[u8], &[u8]> {
    let (i, _) = tag(&b"="[..])(i)?;
    Ok((&i[i.len()..], trim(i)))
}

/// Splits a logical line (already cut at NUL) into name and value, exactly like Postfix:
/// only the first `=` separates, whitespace around it is ignored, the value is trimmed.
pub(crate) fn split_nameval(line: &[u8]) -> Result<(&[u8], &[u8]), &'static str> {
    // name_part cannot fail: every parser in it accepts empty input.
    let (rest, name) = name_part(line).map_err(|_| MISSING_NAME)?;
    if name.is_empty() {
        return Err(MISSING_NAME);
    }
    let (_, value) =
        value_part(rest).map_err(|_: nom::Err<nom::error::Error<&[u8]>>| MISSING_EQ)?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_postfix() {
        assert_eq!(split_nameval(b"a = b = c "), Ok((&b"a"[..], &b"b = c"[..])));
        assert_eq!(split_nameval(b"a=\r"), Ok((&b"a"[..], &b""[..])));
        assert_eq!(
            split_nameval(b"relayhost    = x"),
            Ok((&b"relayhost"[..], &b"x"[..]))
        );
        assert_eq!(split_nameval(b"=foo"), Err(MISSING_NAME));
        assert_eq!(split_nameval(b""), Err(MISSING_NAME));
        assert_eq!(split_nameval(b"bogus line"), Err(MISSING_EQ));
        assert_eq!(split_nameval(b"x # c"), Err(MISSING_EQ));
    }
}
