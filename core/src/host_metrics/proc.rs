//! Host metrics over SSH: the lines the status probe adds to its one command (the first line of
//! /proc/stat twice, 0.2 s apart; /proc/loadavg; the head of /proc/meminfo; `df -Pk`), and their
//! parsing.
//! What a host answers is data: every odd answer is a [`ProcError`], never a panic, and one
//! unreadable value leaves the others read.

use super::Sample;
use std::collections::BTreeMap;

/// The sections the probe's command prints, each after its marker line (see
/// [`crate::inventory`]), and the shell that prints them. CPU % is the busy share of the
/// jiffies between two reads of /proc/stat's `cpu` line; `df` leaves out memory-backed and
/// image mounts when it can (GNU `-x`), and the parser skips them otherwise. Files are read
/// with the built-in readers of `inventory::FILE_READERS`, which the command defines.
pub const SECTIONS: [(&str, &str); 4] = [
    // The 0.2 s between the two reads is a `read -t` of the channel's stdin, which paaf leaves
    // open and empty: a built-in of bash, zsh, ksh and busybox, so the host starts no `sleep`
    // process (~1 ms of CPU per host). Where `read -t` is missing (dash) or stdin has data or
    // is closed, it does not end as a timeout (status > 128), and `sleep` waits instead.
    (
        "cpu",
        "paaf_line /proc/stat; read -t 0.2 l 2>/dev/null; [ $? -gt 128 ] || sleep 0.2 2>/dev/null || sleep 1; paaf_line /proc/stat",
    ),
    ("load", "paaf_lines /proc/loadavg"),
    // MemTotal, MemFree, MemAvailable, Buffers, Cached: the kernel writes them first (MemFree,
    // Buffers, Cached first before 3.14, which has no MemAvailable).
    ("memory", "paaf_lines /proc/meminfo 5"),
    (
        "df",
        "df -Pk -x tmpfs -x devtmpfs -x squashfs 2>/dev/null || df -Pk 2>/dev/null",
    ),
];

/// Filesystems that are memory or read-only images, not disks that fill up.
const NOT_DISKS: [&str; 7] = [
    "tmpfs", "devtmpfs", "udev", "shm", "none", "squashfs", "ramfs",
];

/// Why a value of the probe could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcError {
    #[error("{what}: nothing in the answer (no such file on the host?)")]
    Missing { what: &'static str },
    #[error("{what}: cannot read `{line}`")]
    Unreadable { what: &'static str, line: String },
    #[error("cpu: no time passed between the two reads of /proc/stat")]
    NoCpuTime,
    #[error("df: no disk in the answer")]
    NoDisk,
}

/// The probe's sections parsed: the values read and why the others were not.
pub fn parse(sections: &BTreeMap<String, Vec<String>>) -> (Sample, Vec<ProcError>) {
    let lines = |name: &str| sections.get(name).map(Vec::as_slice).unwrap_or(&[]);
    let mut problems = Vec::new();
    let mut keep = |r: Result<f64, ProcError>| r.map_err(|e| problems.push(e)).ok();
    let cpu_percent = keep(cpu_percent(lines("cpu")));
    let load1 = keep(load1(lines("load")));
    let memory_percent = keep(memory_percent(lines("memory")));
    let disk = match fullest_disk(lines("df")) {
        Ok(d) => Some(d),
        Err(e) => {
            problems.push(e);
            None
        }
    };
    let sample = Sample {
        cpu_percent,
        load1,
        memory_percent,
        disk,
        uptime_secs: None,
    };
    (sample, problems)
}

fn unreadable(what: &'static str, line: &str) -> ProcError {
    ProcError::Unreadable {
        what,
        line: line.chars().take(80).collect(),
    }
}

/// Busy % between two `cpu  user nice system idle iowait irq softirq steal ...` lines.
pub fn cpu_percent(lines: &[String]) -> Result<f64, ProcError> {
    const WHAT: &str = "cpu";
    let reads: Vec<&String> = lines.iter().filter(|l| l.starts_with("cpu ")).collect();
    let [first, second] = reads.as_slice() else {
        return match reads.first() {
            None => Err(ProcError::Missing { what: WHAT }),
            Some(l) => Err(unreadable(WHAT, l)),
        };
    };
    // (idle, total) jiffies: idle and iowait are idle; guest time is already in user.
    let jiffies = |line: &str| -> Result<(u128, u128), ProcError> {
        let fields: Vec<u128> = line
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| unreadable(WHAT, line))?;
        if fields.len() < 4 {
            return Err(unreadable(WHAT, line));
        }
        let idle = fields[3] + fields.get(4).copied().unwrap_or(0);
        Ok((idle, fields.iter().sum()))
    };
    let (idle1, total1) = jiffies(first)?;
    let (idle2, total2) = jiffies(second)?;
    let total = total2.checked_sub(total1).filter(|t| *t > 0);
    let idle = idle2.checked_sub(idle1);
    match (total, idle) {
        (Some(total), Some(idle)) if idle <= total => {
            Ok(100.0 * (total - idle) as f64 / total as f64)
        }
        (None, _) if total2 == total1 => Err(ProcError::NoCpuTime),
        _ => Err(unreadable(WHAT, second)),
    }
}

/// The 1-minute load of a /proc/loadavg line (`0.52 0.58 0.59 1/467 12345`).
pub fn load1(lines: &[String]) -> Result<f64, ProcError> {
    const WHAT: &str = "load";
    let line = lines.first().ok_or(ProcError::Missing { what: WHAT })?;
    line.split_whitespace()
        .next()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| unreadable(WHAT, line))
}

/// Memory in use, % of MemTotal: what MemAvailable leaves (MemFree + Buffers + Cached on
/// kernels older than 3.14, which lack it).
pub fn memory_percent(lines: &[String]) -> Result<f64, ProcError> {
    const WHAT: &str = "memory";
    if lines.is_empty() {
        return Err(ProcError::Missing { what: WHAT });
    }
    let mut fields: BTreeMap<&str, u64> = BTreeMap::new();
    for line in lines {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        if let Some(kb) = rest.split_whitespace().next().and_then(|v| v.parse().ok()) {
            fields.insert(key.trim(), kb);
        }
    }
    let total = fields
        .get("MemTotal")
        .copied()
        .filter(|t| *t > 0)
        .ok_or_else(|| unreadable(WHAT, &lines[0]))?;
    let available = match fields.get("MemAvailable") {
        Some(a) => *a,
        None => ["MemFree", "Buffers", "Cached"]
            .iter()
            .map(|k| fields.get(k).copied())
            .sum::<Option<u64>>()
            .ok_or_else(|| unreadable(WHAT, &lines[0]))?,
    };
    Ok(100.0 * total.saturating_sub(available) as f64 / total as f64)
}

/// The fullest disk of a `df -P` answer and its use (%), as df counts it: used / (used +
/// available). Memory-backed and image filesystems, and empty ones, are not disks.
pub fn fullest_disk(lines: &[String]) -> Result<(String, f64), ProcError> {
    if lines.is_empty() {
        return Err(ProcError::Missing { what: "df" });
    }
    lines
        .iter()
        .filter_map(|l| df_row(l))
        .filter(|row| !is_not_a_disk(&row.filesystem, &row.mount))
        .filter_map(|row| {
            let size = row.used.checked_add(row.available)?;
            (size > 0).then(|| (row.mount, 100.0 * row.used as f64 / size as f64))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .ok_or(ProcError::NoDisk)
}

struct DfRow {
    filesystem: String,
    used: u64,
    available: u64,
    mount: String,
}

/// One `df -P` row: `FILESYSTEM BLOCKS USED AVAILABLE CAPACITY% MOUNT`, where the filesystem
/// and the mount may hold spaces; the header and anything else are `None`.
fn df_row(line: &str) -> Option<DfRow> {
    let words: Vec<(usize, &str)> = line
        .split_whitespace()
        .map(|w| (w.as_ptr() as usize - line.as_ptr() as usize, w))
        .collect();
    // The capacity is the first `N%` (or `-`) after three numbers and a filesystem name.
    let at = (4..words.len()).find(|&i| {
        let capacity = words[i].1;
        (capacity == "-"
            || capacity
                .strip_suffix('%')
                .is_some_and(|n| n.parse::<u64>().is_ok()))
            && words[i - 3..i]
                .iter()
                .all(|(_, w)| w.parse::<u64>().is_ok())
    })?;
    let (end, capacity) = words[at];
    let mount = line[end + capacity.len()..].trim();
    if mount.is_empty() {
        return None;
    }
    let filesystem = line[..words[at - 3].0].trim().to_string();
    Some(DfRow {
        filesystem,
        used: words[at - 2].1.parse().ok()?,
        available: words[at - 1].1.parse().ok()?,
        mount: mount.to_string(),
    })
}

fn is_not_a_disk(filesystem: &str, mount: &str) -> bool {
    NOT_DISKS.contains(&filesystem)
        || filesystem.starts_with("/dev/loop")
        || mount.starts_with("/snap/")
        || mount.starts_with("/proc")
        || mount.starts_with("/sys")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn cpu_is_the_busy_share_between_two_reads() {
        let two = lines("cpu  100 0 100 700 100 0 0 0 0 0\ncpu  150 0 150 850 150 0 0 0 0 0");
        // 300 jiffies passed, 200 of them idle (idle + iowait): 33 % busy.
        let busy = cpu_percent(&two).unwrap();
        assert!((busy - 33.333).abs() < 0.01, "{busy}");
        // An old kernel's four fields.
        assert_eq!(
            cpu_percent(&lines("cpu 1 1 1 1\ncpu 2 2 2 2")).unwrap(),
            75.0
        );
        for (odd, want) in [
            ("", ProcError::Missing { what: "cpu" }),
            ("cpu 1 2 3 4", unreadable("cpu", "cpu 1 2 3 4")),
            ("cpu 1 2 3 4\ncpu 1 2 3 4", ProcError::NoCpuTime),
            ("cpu a b c d\ncpu 1 2 3 4", unreadable("cpu", "cpu a b c d")),
            ("cpu 1 2\ncpu 3 4", unreadable("cpu", "cpu 1 2")),
            // A counter that went back (a wrapped or reset counter).
            ("cpu 9 9 9 9\ncpu 1 1 1 1", unreadable("cpu", "cpu 1 1 1 1")),
            (
                "cpu 99999999999999999999999999999999999999999 0 0 0\ncpu 1 1 1 1",
                unreadable("cpu", "cpu 99999999999999999999999999999999999999999 0 0 0"),
            ),
        ] {
            assert_eq!(cpu_percent(&lines(odd)), Err(want), "{odd:?}");
        }
    }

    #[test]
    fn load_and_memory_read_what_the_kernel_writes_and_refuse_the_rest() {
        assert_eq!(load1(&lines("0.52 0.58 0.59 1/467 12345")).unwrap(), 0.52);
        for odd in ["", "nan 1 1", "-1 0 0", "loadavg: n/a"] {
            assert!(load1(&lines(odd)).is_err(), "{odd:?}");
        }
        let meminfo = "MemTotal:        8000000 kB\nMemFree:          500000 kB\nMemAvailable:    2000000 kB\nBuffers: 1 kB";
        assert_eq!(memory_percent(&lines(meminfo)).unwrap(), 75.0);
        let old = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 100 kB\nCached: 300 kB";
        assert_eq!(memory_percent(&lines(old)).unwrap(), 50.0);
        for odd in [
            "",
            "MemTotal: 0 kB\nMemAvailable: 0 kB",
            "MemFree: 3 kB",
            "garbage without colon\n:::\nMemTotal: x kB",
            "MemTotal: 1000 kB",
        ] {
            assert!(memory_percent(&lines(odd)).is_err(), "{odd:?}");
        }
    }

    #[test]
    fn the_fullest_disk_is_found_in_odd_df_answers() {
        let df = "Filesystem     1024-blocks      Used Available Capacity Mounted on\n\
                  /dev/vda1         10255636   5003000   5252636      49% /\n\
                  tmpfs              1018000   1018000         0     100% /dev/shm\n\
                  /dev/loop3           56832     56832         0     100% /snap/core18/2128\n\
                  map auto home            0         0         0       -  /home\n\
                  //nas/share with space 1000 940 60 94% /mnt/nas share\n\
                  /dev/vdb1        103081248  40000000  63081248      39% /srv/data\n";
        assert_eq!(
            fullest_disk(&lines(df)).unwrap(),
            ("/mnt/nas share".to_string(), 94.0)
        );
        // A fake df that answers a full root.
        let full =
            "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 100 97 3 97% /\n";
        assert_eq!(fullest_disk(&lines(full)).unwrap(), ("/".to_string(), 97.0));
        for (odd, want) in [
            ("", ProcError::Missing { what: "df" }),
            (
                "Filesystem 1024-blocks Used Available Capacity Mounted on",
                ProcError::NoDisk,
            ),
            (
                "df: /proc/x: Permission denied\n\u{1b}[31m 1 2 3 4% \n",
                ProcError::NoDisk,
            ),
            ("tmpfs 10 10 0 100% /run", ProcError::NoDisk),
            (
                "/dev/x 18446744073709551615 18446744073709551615 18446744073709551615 50% /",
                ProcError::NoDisk,
            ),
            ("/dev/x 1 2 3 4% ", ProcError::NoDisk),
        ] {
            assert_eq!(fullest_disk(&lines(odd)), Err(want), "{odd:?}");
        }
        // Non-ASCII names are kept as they are.
        assert_eq!(
            fullest_disk(&lines("ünïcödé 1 2 3 40% /mnt/ü")).unwrap(),
            ("/mnt/ü".to_string(), 40.0)
        );
    }

    #[test]
    fn parse_keeps_what_it_read_and_says_why_not_the_rest() {
        let mut sections = BTreeMap::new();
        sections.insert("load".to_string(), lines("1.50 1 1 1/2 3"));
        sections.insert("df".to_string(), lines("/dev/sda1 100 95 5 95% /"));
        sections.insert("memory".to_string(), lines("what"));
        let (sample, problems) = parse(&sections);
        assert_eq!(sample.load1, Some(1.5));
        assert_eq!(sample.disk, Some(("/".to_string(), 95.0)));
        assert_eq!(sample.cpu_percent, None);
        assert_eq!(sample.memory_percent, None);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].to_string().starts_with("cpu:"), "{problems:?}");
    }
}
