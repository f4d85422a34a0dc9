//! Whether a loopback connection comes from this very process (Linux).
//!
//! TCP carries no identity, and every account on a machine can reach every loopback port. On
//! Linux the kernel lists every TCP socket with its inode (`/proc/self/net/tcp`, `tcp6`), and
//! `/proc/self/fd` lists the sockets this process holds: a connection accepted on
//! `local` from `peer` is this process's own when the socket at `peer` connected to `local` is
//! one of them. The client's relay serves only such connections.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Whether the connection `peer` → `local` was opened by a socket this process holds:
/// `Some(true)` or `Some(false)` on Linux, `None` where `/proc` has no socket table.
///
/// The kernel writes its tables in pieces, so a socket opened or closed meanwhile can be
/// missed: a connection not found is looked for again (three times in all) before it is
/// taken for a stranger's. Where the tables exist but this process's descriptors cannot be
/// listed, the answer is `Some(false)`: it fails closed.
pub(crate) fn from_this_process(peer: SocketAddr, local: SocketAddr) -> Option<bool> {
    let mut tables_seen = false;
    for _ in 0..3 {
        let tables: Vec<String> = ["/proc/self/net/tcp", "/proc/self/net/tcp6"]
            .iter()
            .filter_map(|table| std::fs::read_to_string(table).ok())
            .collect();
        if tables.is_empty() {
            break;
        }
        tables_seen = true;
        if let Some(inode) = tables.iter().find_map(|t| socket_inode(t, peer, local)) {
            return Some(holds_socket(inode));
        }
    }
    tables_seen.then_some(false)
}

/// Whether one of this process's descriptors is the socket `inode`.
fn holds_socket(inode: u64) -> bool {
    let wanted = format!("socket:[{inode}]");
    std::fs::read_dir("/proc/self/fd").is_ok_and(|fds| {
        fds.flatten().any(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|target| target.as_os_str() == wanted.as_str())
        })
    })
}

/// The inode of the socket in a `/proc/net/tcp` table whose local address is `from` and
/// remote address `to`.
fn socket_inode(table: &str, from: SocketAddr, to: SocketAddr) -> Option<u64> {
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (local, remote, inode) = (fields.get(1)?, fields.get(2)?, fields.get(9)?);
        (same(parse(local)?, from) && same(parse(remote)?, to))
            .then(|| inode.parse().ok())
            .flatten()
    })
}

/// Equal addresses, an IPv4 one and its IPv6-mapped form alike.
fn same(a: SocketAddr, b: SocketAddr) -> bool {
    let plain = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    a.port() == b.port() && plain(a.ip()) == plain(b.ip())
}

/// An address as the kernel writes it: `0100007F:1F90` (IPv4, the address as the machine
/// holds it in memory, the port big-endian in hex) or 32 hex digits and a port (IPv6, four
/// such words).
fn parse(text: &str) -> Option<SocketAddr> {
    let (address, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |hex: &str| u32::from_str_radix(hex, 16).ok().map(u32::to_ne_bytes);
    let ip = match address.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(address)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_exact_mut(4).enumerate() {
                chunk.copy_from_slice(&word(address.get(8 * i..8 * i + 8)?)?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_addresses_parse() {
        if cfg!(target_endian = "little") {
            assert_eq!(
                parse("0100007F:1F90"),
                Some("127.0.0.1:8080".parse().unwrap())
            );
            assert_eq!(
                parse("00000000000000000000000001000000:0BB8"),
                Some("[::1]:3000".parse().unwrap())
            );
        }
        assert_eq!(parse("zz:1"), None);
    }

    #[test]
    fn a_connection_of_this_process_is_its_own() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let local = listener.local_addr().unwrap();
        let client = std::net::TcpStream::connect(local).unwrap();
        let (_accepted, peer) = listener.accept().unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        match from_this_process(peer, local) {
            None => println!("SKIPPED: no /proc here"),
            Some(own) => assert!(own),
        }
        // A made-up peer is nobody's.
        let stranger: SocketAddr = "127.0.0.1:1".parse().unwrap();
        assert_ne!(from_this_process(stranger, local), Some(true));
    }
}
