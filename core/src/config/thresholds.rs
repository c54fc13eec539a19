//! `thresholds` in `[defaults]` and `[[hosts]]`: where a host's CPU %, load, memory % and disk %
//! turn into a warning and a danger (`disk = { warning = 80, danger = 90 }`). A host's own
//! entry replaces the default of that metric only.

use super::*;
use crate::thresholds::Threshold;

/// The limits of each host metric, with the defaults already applied; `None`: never a warning.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostThresholds {
    pub cpu: Option<Threshold>,
    pub load: Option<Threshold>,
    pub memory: Option<Threshold>,
    pub disk: Option<Threshold>,
}

impl Default for HostThresholds {
    /// paaf's own limits: CPU 80/95 %, memory 85/95 %, disk 80/90 %; load has none (what is
    /// high depends on the host's CPU count).
    fn default() -> Self {
        let t = |warning, danger| Some(Threshold { warning, danger });
        HostThresholds {
            cpu: t(80.0, 95.0),
            load: None,
            memory: t(85.0, 95.0),
            disk: t(80.0, 90.0),
        }
    }
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct RawThresholds {
    cpu: Option<Spanned<RawThreshold>>,
    load: Option<Spanned<RawThreshold>>,
    memory: Option<Spanned<RawThreshold>>,
    disk: Option<Spanned<RawThreshold>>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawThreshold {
    warning: f64,
    danger: f64,
}

/// `base` with the metrics `raw` sets replaced, each checked (`whose` starts the message:
/// "[defaults] thresholds", "host `web-1`: thresholds").
pub(super) fn apply_thresholds(
    src: &Source,
    whose: &str,
    base: HostThresholds,
    raw: Option<&RawThresholds>,
) -> Result<HostThresholds> {
    let Some(raw) = raw else {
        return Ok(base);
    };
    let check = |metric: &str, percent: bool, raw: &Option<Spanned<RawThreshold>>, base| {
        let Some(raw) = raw else {
            return Ok(base);
        };
        let RawThreshold { warning, danger } = *raw.get_ref();
        let max = if percent { 100.0 } else { f64::MAX };
        let problem = if ![warning, danger]
            .iter()
            .all(|v| v.is_finite() && (0.0..=max).contains(v))
        {
            Some(match percent {
                true => "warning and danger are percentages, from 0 to 100",
                false => "warning and danger must be 0 or more",
            })
        } else if warning > danger {
            Some("warning is above danger: a value reaches the warning first")
        } else {
            None
        };
        match problem {
            None => Ok(Some(Threshold { warning, danger })),
            Some(why) => Err(src.err(
                Some(&raw.span()),
                format!("{whose}.{metric} = {{ warning = {warning}, danger = {danger} }}: {why}"),
                format!(
                    "e.g. {metric} = {{ warning = {}, danger = {} }}",
                    if percent { 80 } else { 4 },
                    if percent { 90 } else { 8 }
                ),
            )),
        }
    };
    Ok(HostThresholds {
        cpu: check("cpu", true, &raw.cpu, base.cpu)?,
        load: check("load", false, &raw.load, base.load)?,
        memory: check("memory", true, &raw.memory, base.memory)?,
        disk: check("disk", true, &raw.disk, base.disk)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(Path::new("/etc/paaf/config.toml"), text)
    }

    const HOST: &str = "[[hosts]]\nname = \"web-1\"\naddress = \"10.0.0.5\"\nuser = \"deploy\"\nauth = { type = \"agent\" }\n";

    #[test]
    fn defaults_then_the_host_replace_paaf_s_limits_one_metric_at_a_time() {
        let host = |text: &str| parse(text).unwrap().hosts.remove(0).thresholds;
        assert_eq!(host(HOST), HostThresholds::default());
        let t = host(&format!(
            "[defaults.thresholds]\ndisk = {{ warning = 70, danger = 85 }}\nload = {{ warning = 4, danger = 8.5 }}\n\n{HOST}thresholds = {{ disk = {{ warning = 95, danger = 98 }} }}\n"
        ));
        assert_eq!(
            t.disk,
            Some(Threshold {
                warning: 95.0,
                danger: 98.0
            })
        );
        assert_eq!(
            t.load,
            Some(Threshold {
                warning: 4.0,
                danger: 8.5
            })
        );
        assert_eq!(t.cpu, HostThresholds::default().cpu);
    }

    #[test]
    fn bad_limits_name_the_line_and_the_fix() {
        for (text, line, says) in [
            (
                format!("[defaults.thresholds]\ndisk = {{ warning = 95, danger = 90 }}\n{HOST}"),
                2,
                "warning is above danger",
            ),
            (
                format!("{HOST}\nthresholds = {{ cpu = {{ warning = 80, danger = 120 }} }}\n"),
                7,
                "percentages",
            ),
            (
                format!("{HOST}thresholds = {{ swap = {{ warning = 1, danger = 2 }} }}\n"),
                6,
                "swap",
            ),
            (
                format!("{HOST}thresholds = {{ disk = {{ warning = 80 }} }}\n"),
                6,
                "danger",
            ),
            (
                format!("{HOST}thresholds = {{ load = {{ warning = -1, danger = 2 }} }}\n"),
                6,
                "0 or more",
            ),
        ] {
            match parse(&text) {
                Err(Error::Config {
                    line: l,
                    message,
                    fix,
                    ..
                }) => {
                    assert_eq!(l, Some(line), "{text}: {message}");
                    assert!(message.contains(says), "{text}: {message}");
                    assert!(!fix.is_empty());
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}
