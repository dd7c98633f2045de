//! Distribution's name grammar (`reference/regexp.go`): registry hosts and repository path
//! components, shared by image references (`crate::reference`) and trust policy scopes.

/// Whether `s` is `host[:port]` in distribution's grammar: a domain name of components
/// `[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?` joined by `.`, or an IPv6 address of
/// `[a-fA-F0-9:]+` in brackets, then an optional `:` and decimal port.
pub fn is_valid_registry(s: &str) -> bool {
    let (host, port) = if let Some(inner) = s.strip_prefix('[') {
        let Some((addr, after)) = inner.split_once(']') else {
            return false;
        };
        if addr.is_empty() || !addr.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        match after {
            "" => return true,
            _ => match after.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => return false,
            },
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(s), None),
        }
    };
    if let Some(host) = host
        && (host.is_empty() || !host.split('.').all(is_domain_component))
    {
        return false;
    }
    match port {
        Some(p) => !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()),
        None => true,
    }
}

fn is_domain_component(c: &str) -> bool {
    let b = c.as_bytes();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
        }
        _ => false,
    }
}

/// Checks one path component: `[a-z0-9]+` runs joined by exactly one of `.`, `_`, `__` or a
/// run of `-` (distribution `pathComponent`). Image references and trust policy scopes use it.
pub fn path_component(c: &str) -> Result<(), &'static str> {
    let b = c.as_bytes();
    if b.is_empty() {
        return Err("it has an empty component");
    }
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return Err("a component must start and end with [a-z0-9]");
        }
        if i == b.len() {
            return Ok(());
        }
        let sep_start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[sep_start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|x| x == b'-');
        if !ok {
            return Err("components may contain only [a-z0-9] separated by '.', '_', '__' or '-'");
        }
        if i == b.len() {
            return Err("a component must start and end with [a-z0-9]");
        }
    }
}
