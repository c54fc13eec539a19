//! Decoding of Grafana's `/api/ds/query` response (data frames) into named time series.
//!
//! The response is `{"results": {"<refId>": {"status", "error"?, "frames": [frame…]}}}`; a frame is
//! `{"schema": {"name"?, "refId"?, "fields": [{"name", "type", "typeInfo", "labels"?,
//! "config"?}]}, "data": {"values": [[column…]…], "entities"?, "nanos"?}}`, column-major
//! (shared/reference/grafana-dataframe.schema.json, from grafana-plugin-sdk-go).
//!
//! The bytes are decoded in one pass, straight into the vectors a [`Series`] keeps: number columns
//! become `Vec<Option<f64>>` and time columns `Vec<i64>` without an intermediate
//! `serde_json::Value` tree, which would cost a heap node per number (see the `ds_query_decode`
//! bench). The visitors that do this are hand-written because a column's element type depends on
//! the schema read just before it, which derived `Deserialize` impls cannot express.
//!
//! Robustness rules:
//! - `null` is a gap (`None`); `NaN`, `+Inf`, `-Inf` arrive either as strings (`"+Inf"`, `"NaN"`,
//!   any case, any float text) or as `data.entities` index lists, and become `Some(NAN|±INF)`.
//! - A frame may be wide (one time field, many number fields) and a refId may hold many frames;
//!   every number field with a time field beside it becomes one series.
//! - A frame with string fields beside its time and number fields is long
//!   (https://grafana.com/developers/plugin-tools/key-concepts/data-frames#long-format; the plugin
//!   SDK's `TimeSeriesSchema` rule): as Grafana's long-to-wide does, each number field gives one
//!   series per distinct combination of the string values in its rows, those values becoming
//!   labels (a null string is the empty label value). String columns read before their schema
//!   (data ahead of schema in the object, which Grafana never writes) are not kept, so such a
//!   frame is read as wide.
//! - Fields that are not numbers (string, boolean, enum, other), extra time fields, frames without a
//!   time field, and columns whose length differs from the time column's are reported in
//!   [`DsQueryResponse::skipped`], never silently lost and never fatal.
//! - A query's `error` (or an HTTP-like `status` ≥ 400) is kept in [`DsQueryResponse::errors`]
//!   beside the series of the queries that worked, and beside any partial frames of its own.
//! - Rows whose time is `null` are dropped (there is nowhere to draw them).
//! - `data.nanos` carries the sub-millisecond remainder of times; series keep milliseconds, so
//!   it is read past.
//! - Bodies over the caller's size limit fail with [`Error::ResponseTooLarge`] before any parsing;
//!   bodies that are not this JSON shape fail with [`Error::MalformedResponse`].

use crate::error::{Error, Result};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Default limit for a ds/query body: a 1,000-pixel panel of 50 series is about 2 MB, so 16 MiB
/// only refuses queries that forgot `maxDataPoints`. Decoded series take about 0.8x the body for
/// real data, and at worst ~8x for a body of bare `0,0,0…`: the limit also bounds that.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// One named time series: one number field of a data frame, with its frame's time field.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Series {
    /// The query (`refId`) this series answers.
    pub ref_id: String,
    /// Display name: field config `displayName`, else `displayNameFromDS`, else the labels
    /// (`name{k="v", …}`), else the field name.
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// Grafana unit id from the field config (`bytes`, `percentunit`, `reqps`, …).
    pub unit: Option<String>,
    /// Epoch milliseconds, one per value.
    #[cfg_attr(feature = "ts", ts(type = "number[]"))]
    pub times_ms: Vec<i64>,
    /// `None` for null; `Some(NaN|±inf)` where the data source sent those.
    pub values: Vec<Option<f64>>,
}

/// A query (refId) that failed; the other queries' series are still returned.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct QueryError {
    pub ref_id: String,
    /// The per-query status Grafana reports (HTTP-like), when present.
    pub status: Option<u16>,
    /// Grafana's message for the failure (data source text; shown to the user as is).
    pub message: String,
}

/// A field of a frame that was not turned into a series, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SkippedField {
    pub ref_id: String,
    /// Position of the frame within its refId's frames.
    pub frame: u32,
    /// The field's name (empty when the whole frame was skipped).
    pub field: String,
    pub reason: SkipReason,
}

/// Why a field was not turned into a series.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SkipReason {
    /// A string, boolean, enum or other field: nothing to plot.
    NotNumeric { field_type: String },
    /// A number field in a frame with no time field (a table or instant result).
    NoTimeField,
    /// A second time field in a frame; the first one is the x axis.
    ExtraTimeField,
    /// The schema names a field the data has no column for.
    MissingColumn,
    /// The field's column and the time column differ in length.
    LengthMismatch { values: u32, times: u32 },
    /// The time column holds something other than epoch milliseconds.
    BadTimeColumn,
    /// A frame with data but no schema.
    NoSchema,
}

/// Everything a ds/query response held: series of the queries that worked, errors of those that
/// did not, and fields that could not be plotted.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DsQueryResponse {
    pub series: Vec<Series>,
    pub errors: Vec<QueryError>,
    pub skipped: Vec<SkippedField>,
}

/// Decode a `/api/ds/query` response body; `max_bytes` bounds the body (see
/// [`DEFAULT_MAX_RESPONSE_BYTES`]).
pub fn decode_ds_query(body: &[u8], max_bytes: usize) -> Result<DsQueryResponse> {
    if body.len() > max_bytes {
        return Err(Error::ResponseTooLarge {
            what: "Grafana /api/ds/query".into(),
            size: body.len() as u64,
            limit: max_bytes as u64,
        });
    }
    let raw: RawResponse = serde_json::from_slice(body).map_err(malformed)?;
    let mut out = DsQueryResponse::default();
    for (ref_id, result) in raw.results.0 {
        result.into_response(ref_id, &mut out);
    }
    Ok(out)
}

/// A decode error, described by position and category only: serde_json's own message can quote
/// response text, which must not reach logs.
fn malformed(e: serde_json::Error) -> Error {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Eof => "the body ended early (truncated?)",
        Category::Syntax => "the body is not valid JSON",
        Category::Data => "the JSON does not have the data-frame shape",
        Category::Io => "the body could not be read",
    };
    Error::MalformedResponse {
        what: "Grafana /api/ds/query".into(),
        reason: format!("{what} at line {} column {}", e.line(), e.column()),
    }
}

// ---- wire types -------------------------------------------------------------------------------

#[derive(Deserialize)]
struct RawResponse {
    #[serde(default)]
    results: RawResults,
}

/// `results`, in document order (a map would sort the refIds).
#[derive(Default)]
struct RawResults(Vec<(String, RawDataResponse)>);

impl<'de> Deserialize<'de> for RawResults {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawResults;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of query results keyed by refId")
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawResults, E> {
                Ok(RawResults::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawResults, A::Error> {
                let mut v = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    v.push((key, map.next_value::<RawDataResponse>()?));
                }
                Ok(RawResults(v))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawDataResponse {
    frames: Option<Vec<RawFrame>>,
    #[serde(deserialize_with = "lenient")]
    error: Option<String>,
    #[serde(deserialize_with = "lenient")]
    status: Option<u16>,
}

impl RawDataResponse {
    fn into_response(self, ref_id: String, out: &mut DsQueryResponse) {
        let failed_status = self.status.filter(|s| *s >= 400);
        match (self.error.filter(|e| !e.is_empty()), failed_status) {
            (Some(message), _) => out.errors.push(QueryError {
                ref_id: ref_id.clone(),
                status: self.status,
                message,
            }),
            (None, Some(status)) => out.errors.push(QueryError {
                ref_id: ref_id.clone(),
                status: Some(status),
                message: format!("the query failed with status {status}"),
            }),
            (None, None) => {}
        }
        for (i, frame) in self.frames.unwrap_or_default().into_iter().enumerate() {
            frame.into_series(&ref_id, i, out);
        }
    }
}

/// Accept `T`, and read anything else as absent: metadata of the wrong type must not sink the
/// numbers beside it. (Buffers the value; used only on small schema items.)
fn lenient<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either<T> {
        Ok(T),
        Junk(IgnoredAny),
    }
    Ok(match Either::<T>::deserialize(d)? {
        Either::Ok(t) => Some(t),
        Either::Junk(_) => None,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawSchema {
    #[serde(deserialize_with = "lenient")]
    name: Option<String>,
    fields: Vec<RawField>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawField {
    #[serde(deserialize_with = "lenient")]
    name: Option<String>,
    #[serde(rename = "type", deserialize_with = "lenient")]
    field_type: Option<String>,
    #[serde(rename = "typeInfo", deserialize_with = "lenient")]
    type_info: Option<RawTypeInfo>,
    #[serde(deserialize_with = "lenient")]
    labels: Option<BTreeMap<String, String>>,
    #[serde(deserialize_with = "lenient")]
    config: Option<RawFieldConfig>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawTypeInfo {
    #[serde(deserialize_with = "lenient")]
    frame: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawFieldConfig {
    #[serde(rename = "displayName", deserialize_with = "lenient")]
    display_name: Option<String>,
    #[serde(rename = "displayNameFromDS", deserialize_with = "lenient")]
    display_name_from_ds: Option<String>,
    #[serde(deserialize_with = "lenient")]
    unit: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum FieldKind {
    Time,
    Number,
    /// A string field: a label (factor) of a long frame.
    Text,
    Other,
}

impl RawField {
    /// `type` when present; the schema requires only `typeInfo.frame`, so fall back to it.
    fn kind(&self) -> FieldKind {
        match self.field_type.as_deref() {
            Some("time") => FieldKind::Time,
            Some("number") => FieldKind::Number,
            Some("string") => FieldKind::Text,
            Some(_) => FieldKind::Other,
            None => match self.type_info.as_ref().and_then(|t| t.frame.as_deref()) {
                Some("time.Time") => FieldKind::Time,
                Some(
                    "int8" | "int16" | "int32" | "int64" | "uint8" | "uint16" | "uint32" | "uint64"
                    | "float32" | "float64",
                ) => FieldKind::Number,
                Some("string") => FieldKind::Text,
                _ => FieldKind::Other,
            },
        }
    }

    fn type_name(&self) -> String {
        self.field_type
            .clone()
            .or_else(|| self.type_info.as_ref().and_then(|t| t.frame.clone()))
            .unwrap_or_else(|| "unknown".into())
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawEntities {
    #[serde(rename = "NaN")]
    nan: Vec<usize>,
    #[serde(rename = "Inf")]
    inf: Vec<usize>,
    #[serde(rename = "NegInf")]
    neg_inf: Vec<usize>,
}

/// One column of `data.values`, decoded by the kind its schema field announced.
enum Column {
    Times {
        ms: Vec<i64>,
        /// Rows whose time is null, in increasing order.
        null_rows: Vec<usize>,
        /// The column held something other than numbers and nulls.
        bad: bool,
    },
    Numbers(Vec<Option<f64>>),
    /// A string field's values (`None` for null).
    Texts(Vec<Option<String>>),
    /// Read without a schema (data before schema in the object): numbers, kind decided later.
    Untyped(Vec<Option<f64>>),
    Ignored,
}

#[derive(Default)]
struct RawFrame {
    schema: Option<RawSchema>,
    columns: Vec<Column>,
    entities: Vec<Option<RawEntities>>,
}

impl<'de> Deserialize<'de> for RawFrame {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawFrame;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a data frame object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawFrame, A::Error> {
                let mut frame = RawFrame::default();
                while let Some(key) = map.next_key::<FrameKey>()? {
                    match key {
                        FrameKey::Schema => frame.schema = Some(map.next_value()?),
                        FrameKey::Data => {
                            let kinds: Option<Vec<FieldKind>> = frame
                                .schema
                                .as_ref()
                                .map(|s| s.fields.iter().map(RawField::kind).collect());
                            let data = map.next_value_seed(DataSeed {
                                kinds: kinds.as_deref(),
                            })?;
                            frame.columns = data.columns;
                            frame.entities = data.entities;
                        }
                        FrameKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(frame)
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum FrameKey {
    Schema,
    Data,
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum DataKey {
    Values,
    Entities,
    #[serde(other)]
    Other,
}

struct RawData {
    columns: Vec<Column>,
    entities: Vec<Option<RawEntities>>,
}

struct DataSeed<'a> {
    kinds: Option<&'a [FieldKind]>,
}

impl<'de> DeserializeSeed<'de> for DataSeed<'_> {
    type Value = RawData;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawData, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DataSeed<'_> {
    type Value = RawData;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a frame's data object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawData, A::Error> {
        let mut data = RawData {
            columns: Vec::new(),
            entities: Vec::new(),
        };
        while let Some(key) = map.next_key::<DataKey>()? {
            match key {
                DataKey::Values => {
                    data.columns = map.next_value_seed(ColumnsSeed { kinds: self.kinds })?;
                }
                DataKey::Entities => {
                    data.entities = map
                        .next_value::<Option<Vec<Option<RawEntities>>>>()?
                        .unwrap_or_default();
                }
                // `nanos`: sub-millisecond remainders, below what a series keeps.
                DataKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(data)
    }
}

struct ColumnsSeed<'a> {
    kinds: Option<&'a [FieldKind]>,
}

impl<'de> DeserializeSeed<'de> for ColumnsSeed<'_> {
    type Value = Vec<Column>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Column>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ColumnsSeed<'_> {
    type Value = Vec<Column>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of value columns")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Column>, A::Error> {
        let mut columns = Vec::new();
        // Every column of a frame has the same length: the first one sizes the others exactly.
        let mut capacity = 0;
        loop {
            let kind = self.kinds.map(|kinds| {
                kinds
                    .get(columns.len())
                    .copied()
                    .unwrap_or(FieldKind::Other)
            });
            let Some(column) = seq.next_element_seed(ColumnSeed { kind, capacity })? else {
                break;
            };
            if capacity == 0 {
                capacity = match &column {
                    Column::Times { ms, .. } => ms.len(),
                    Column::Numbers(v) | Column::Untyped(v) => v.len(),
                    Column::Texts(v) => v.len(),
                    Column::Ignored => 0,
                };
            }
            columns.push(column);
        }
        Ok(columns)
    }
}

struct ColumnSeed {
    /// `None` when the schema is not known yet.
    kind: Option<FieldKind>,
    capacity: usize,
}

impl<'de> DeserializeSeed<'de> for ColumnSeed {
    type Value = Column;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Column, D::Error> {
        match self.kind {
            Some(FieldKind::Other) => {
                IgnoredAny::deserialize(d)?;
                Ok(Column::Ignored)
            }
            _ => d.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for ColumnSeed {
    type Value = Column;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of values")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Column, E> {
        Ok(Column::Ignored)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Column, A::Error> {
        match self.kind {
            Some(FieldKind::Time) => {
                let mut ms = Vec::with_capacity(self.capacity);
                let mut null_rows = Vec::new();
                let mut bad = false;
                while let Some(t) = seq.next_element_seed(TimeSeed)? {
                    match t {
                        TimeValue::Ms(t) => ms.push(t),
                        TimeValue::Null => {
                            null_rows.push(ms.len());
                            ms.push(0);
                        }
                        TimeValue::Bad => {
                            bad = true;
                            null_rows.push(ms.len());
                            ms.push(0);
                        }
                    }
                }
                fit(&mut ms);
                Ok(Column::Times { ms, null_rows, bad })
            }
            Some(FieldKind::Text) => {
                let mut v = Vec::with_capacity(self.capacity);
                while let Some(x) = seq.next_element_seed(TextSeed)? {
                    v.push(x);
                }
                fit(&mut v);
                Ok(Column::Texts(v))
            }
            kind => {
                let mut v = Vec::with_capacity(self.capacity);
                while let Some(x) = seq.next_element_seed(NumberSeed)? {
                    v.push(x);
                }
                fit(&mut v);
                Ok(match kind {
                    Some(_) => Column::Numbers(v),
                    None => Column::Untyped(v),
                })
            }
        }
    }
    // A column that is not an array (an object, a string…) has no values to offer.
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Column, A::Error> {
        IgnoredAny.visit_map(map)?;
        Ok(Column::Ignored)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Column, E> {
        Ok(Column::Ignored)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Column, E> {
        Ok(Column::Ignored)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Column, E> {
        Ok(Column::Ignored)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Column, E> {
        Ok(Column::Ignored)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Column, E> {
        Ok(Column::Ignored)
    }
}

/// Give back what a column did not use: the first column grew by doubling, and a column shorter
/// than the capacity hint must not keep the hint's memory (a body of `[[…many…],[],[],…]`).
fn fit<T>(v: &mut Vec<T>) {
    if v.len() != v.capacity() {
        v.shrink_to_fit();
    }
}

/// One value of a number column: a number, null, a float in a string (`"+Inf"`, `"NaN"`,
/// `"1.5"`); anything else is a gap.
struct NumberSeed;

impl<'de> DeserializeSeed<'de> for NumberSeed {
    type Value = Option<f64>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<f64>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NumberSeed {
    type Value = Option<f64>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number, null or a number in a string")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Option<f64>, E> {
        Ok(Some(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<f64>, E> {
        Ok(Some(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<f64>, E> {
        Ok(Some(v as f64))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<f64>, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Option<f64>, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Option<f64>, E> {
        // Rust's float syntax takes "inf", "+Inf", "-infinity", "NaN" in any case.
        Ok(s.trim().parse::<f64>().ok())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Option<f64>, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<f64>, A::Error> {
        IgnoredAny.visit_seq(seq)?;
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<f64>, A::Error> {
        IgnoredAny.visit_map(map)?;
        Ok(None)
    }
}

/// One value of a string column: the string, or `None` for null; a number or boolean is
/// written as text (a label value), anything else is `None`.
struct TextSeed;

impl<'de> DeserializeSeed<'de> for TextSeed {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TextSeed {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or null")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Option<String>, E> {
        Ok(Some(s.to_owned()))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Option<String>, E> {
        Ok(Some(s))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Option<String>, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<String>, A::Error> {
        IgnoredAny.visit_seq(seq)?;
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<String>, A::Error> {
        IgnoredAny.visit_map(map)?;
        Ok(None)
    }
}

enum TimeValue {
    Ms(i64),
    Null,
    Bad,
}

/// One value of a time column: epoch milliseconds.
struct TimeSeed;

impl<'de> DeserializeSeed<'de> for TimeSeed {
    type Value = TimeValue;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<TimeValue, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TimeSeed {
    type Value = TimeValue;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("epoch milliseconds or null")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<TimeValue, E> {
        Ok(TimeValue::Ms(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<TimeValue, E> {
        Ok(i64::try_from(v).map_or(TimeValue::Bad, TimeValue::Ms))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<TimeValue, E> {
        Ok(f64_to_ms(v).map_or(TimeValue::Bad, TimeValue::Ms))
    }
    fn visit_unit<E: de::Error>(self) -> Result<TimeValue, E> {
        Ok(TimeValue::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<TimeValue, E> {
        Ok(TimeValue::Null)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<TimeValue, E> {
        Ok(TimeValue::Bad)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<TimeValue, E> {
        Ok(TimeValue::Bad)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<TimeValue, A::Error> {
        IgnoredAny.visit_seq(seq)?;
        Ok(TimeValue::Bad)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<TimeValue, A::Error> {
        IgnoredAny.visit_map(map)?;
        Ok(TimeValue::Bad)
    }
}

fn f64_to_ms(v: f64) -> Option<i64> {
    // i64::MAX as f64 rounds up to 2^63, hence the strict bound.
    (v.is_finite() && v >= i64::MIN as f64 && v < i64::MAX as f64).then(|| v.floor() as i64)
}

// ---- frames to series -------------------------------------------------------------------------

impl RawFrame {
    fn into_series(self, ref_id: &str, frame: usize, out: &mut DsQueryResponse) {
        let skip = |out: &mut DsQueryResponse, field: &str, reason: SkipReason| {
            out.skipped.push(SkippedField {
                ref_id: ref_id.to_owned(),
                frame: u32::try_from(frame).unwrap_or(u32::MAX),
                field: field.to_owned(),
                reason,
            })
        };
        let Some(schema) = self.schema else {
            if !self.columns.is_empty() {
                skip(out, "", SkipReason::NoSchema);
            }
            return;
        };
        let mut columns: Vec<Option<Column>> = self.columns.into_iter().map(Some).collect();
        for (col, entities) in columns.iter_mut().zip(self.entities) {
            if let (Some(Column::Numbers(v) | Column::Untyped(v)), Some(e)) = (col, entities) {
                apply_entities(v, &e);
            }
        }
        let fields = &schema.fields;
        let field_name = |i: usize| fields[i].name.as_deref().unwrap_or("");
        let time_index = fields.iter().position(|f| f.kind() == FieldKind::Time);

        // The x axis: the first time field's column, with the rows of null times.
        let times = time_index.map(|t| match columns.get_mut(t).and_then(Option::take) {
            Some(Column::Times { ms, null_rows, bad }) => (!bad).then_some((ms, null_rows)),
            Some(Column::Untyped(v)) => untyped_times(v),
            _ => None,
        });

        let mut numbers = Vec::new();
        // String fields, the labels of a long frame: (field index, values).
        let mut factors = Vec::new();
        for (i, field) in fields.iter().enumerate() {
            match field.kind() {
                FieldKind::Time if Some(i) == time_index => {}
                FieldKind::Time => skip(out, field_name(i), SkipReason::ExtraTimeField),
                FieldKind::Text => match columns.get_mut(i).and_then(Option::take) {
                    Some(Column::Texts(v)) => match &times {
                        Some(Some((ms, _))) if ms.len() != v.len() => skip(
                            out,
                            field_name(i),
                            SkipReason::LengthMismatch {
                                values: v.len() as u32,
                                times: ms.len() as u32,
                            },
                        ),
                        _ => factors.push((i, v)),
                    },
                    _ => skip(
                        out,
                        field_name(i),
                        SkipReason::NotNumeric {
                            field_type: field.type_name(),
                        },
                    ),
                },
                FieldKind::Other => skip(
                    out,
                    field_name(i),
                    SkipReason::NotNumeric {
                        field_type: field.type_name(),
                    },
                ),
                FieldKind::Number => {
                    let values = match columns.get_mut(i).and_then(Option::take) {
                        Some(Column::Numbers(v) | Column::Untyped(v)) => v,
                        _ => {
                            skip(out, field_name(i), SkipReason::MissingColumn);
                            continue;
                        }
                    };
                    match &times {
                        None => skip(out, field_name(i), SkipReason::NoTimeField),
                        Some(None) => skip(out, field_name(i), SkipReason::BadTimeColumn),
                        Some(Some((ms, _))) if ms.len() != values.len() => skip(
                            out,
                            field_name(i),
                            SkipReason::LengthMismatch {
                                values: values.len() as u32,
                                times: ms.len() as u32,
                            },
                        ),
                        Some(Some(_)) => numbers.push((i, values)),
                    }
                }
            }
        }

        let Some(Some((mut times_ms, null_rows))) = times.filter(|_| !numbers.is_empty()) else {
            // No series to label: the string fields are fields that could not be plotted.
            for (i, _) in factors {
                skip(
                    out,
                    field_name(i),
                    SkipReason::NotNumeric {
                        field_type: fields[i].type_name(),
                    },
                );
            }
            return;
        };
        if !null_rows.is_empty() {
            remove_rows(&mut times_ms, &null_rows);
            for (_, v) in &mut factors {
                remove_rows(v, &null_rows);
            }
        }
        if !factors.is_empty() {
            let long = LongFrame {
                ref_id,
                frame_name: schema.name.as_deref(),
                fields,
                times_ms: &times_ms,
                factors: &factors,
            };
            for (i, mut values) in numbers {
                if !null_rows.is_empty() {
                    remove_rows(&mut values, &null_rows);
                }
                long.split(i, values, out);
            }
            return;
        }
        let count = numbers.len();
        for (n, (i, mut values)) in numbers.into_iter().enumerate() {
            if !null_rows.is_empty() {
                remove_rows(&mut values, &null_rows);
            }
            let field = &fields[i];
            // The last series takes the time column; the others copy it (a wide frame).
            let times_ms = if n + 1 == count {
                std::mem::take(&mut times_ms)
            } else {
                times_ms.clone()
            };
            let labels = field.labels.clone().unwrap_or_default();
            let config = field.config.as_ref();
            out.series.push(Series {
                ref_id: ref_id.to_owned(),
                name: display_name(field, &labels, schema.name.as_deref(), ref_id),
                unit: config
                    .and_then(|c| c.unit.clone())
                    .filter(|u| !u.is_empty()),
                labels,
                times_ms,
                values,
            });
        }
    }
}

fn untyped_times(v: Vec<Option<f64>>) -> Option<(Vec<i64>, Vec<usize>)> {
    let mut null_rows = Vec::new();
    let mut ms = Vec::with_capacity(v.len());
    for (i, x) in v.into_iter().enumerate() {
        match x {
            None => {
                null_rows.push(i);
                ms.push(0);
            }
            Some(x) => ms.push(f64_to_ms(x)?),
        }
    }
    Some((ms, null_rows))
}

fn apply_entities(values: &mut [Option<f64>], e: &RawEntities) {
    for (rows, x) in [
        (&e.nan, f64::NAN),
        (&e.inf, f64::INFINITY),
        (&e.neg_inf, f64::NEG_INFINITY),
    ] {
        for &row in rows {
            if let Some(slot) = values.get_mut(row) {
                *slot = Some(x);
            }
        }
    }
}

/// Remove the rows listed (increasing) from `v`, in place.
fn remove_rows<T>(v: &mut Vec<T>, rows: &[usize]) {
    let mut rows = rows.iter().peekable();
    let mut i = 0;
    v.retain(|_| {
        let dropped = rows.peek() == Some(&&i);
        if dropped {
            rows.next();
        }
        i += 1;
        !dropped
    });
}

/// A long frame, its null-time rows already removed: every column is `times_ms.len()` long.
struct LongFrame<'a> {
    ref_id: &'a str,
    frame_name: Option<&'a str>,
    fields: &'a [RawField],
    times_ms: &'a [i64],
    factors: &'a [(usize, Vec<Option<String>>)],
}

/// The rows of one combination of string values: one series to be.
struct LabelGroup<'a> {
    key: Vec<Option<&'a str>>,
    times_ms: Vec<i64>,
    values: Vec<Option<f64>>,
}

impl LongFrame<'_> {
    /// One series of number field `index` per distinct combination of string values, in the
    /// order the combinations first appear.
    fn split(&self, index: usize, values: Vec<Option<f64>>, out: &mut DsQueryResponse) {
        let field = &self.fields[index];
        let mut groups: Vec<LabelGroup> = Vec::new();
        let mut by_key: BTreeMap<Vec<Option<&str>>, usize> = BTreeMap::new();
        for (row, (&t, v)) in self.times_ms.iter().zip(values).enumerate() {
            let key: Vec<Option<&str>> = self
                .factors
                .iter()
                .map(|(_, column)| column.get(row).and_then(|s| s.as_deref()))
                .collect();
            let g = *by_key.entry(key.clone()).or_insert_with(|| {
                groups.push(LabelGroup {
                    key,
                    times_ms: Vec::new(),
                    values: Vec::new(),
                });
                groups.len() - 1
            });
            groups[g].times_ms.push(t);
            groups[g].values.push(v);
        }
        for LabelGroup {
            key,
            times_ms,
            values,
        } in groups
        {
            let mut labels = field.labels.clone().unwrap_or_default();
            for ((i, _), value) in self.factors.iter().zip(key) {
                let name = self.fields[*i].name.clone().unwrap_or_default();
                labels.insert(name, value.unwrap_or("").to_owned());
            }
            // Several number fields share the labels: unless the config names the series, the
            // field name goes in front of them, as Grafana's display name does.
            let configured = field
                .config
                .as_ref()
                .is_some_and(|c| c.display_name.is_some() || c.display_name_from_ds.is_some());
            let name = match field.name.as_deref().filter(|n| !n.is_empty()) {
                Some(n) if !configured && !labels.contains_key("__name__") => {
                    let mut named = labels.clone();
                    named.insert("__name__".into(), n.to_owned());
                    format_labels(&named)
                }
                _ => display_name(field, &labels, self.frame_name, self.ref_id),
            };
            out.series.push(Series {
                ref_id: self.ref_id.to_owned(),
                name,
                labels,
                unit: field
                    .config
                    .as_ref()
                    .and_then(|c| c.unit.clone())
                    .filter(|u| !u.is_empty()),
                times_ms,
                values,
            });
        }
    }
}

/// Grafana's order: the panel's `displayName`, the data source's `displayNameFromDS`, the labels,
/// the field name; then the frame name and the refId so that no series is nameless.
fn display_name(
    field: &RawField,
    labels: &BTreeMap<String, String>,
    frame_name: Option<&str>,
    ref_id: &str,
) -> String {
    let config = field.config.as_ref();
    [
        config.and_then(|c| c.display_name.as_deref()),
        config.and_then(|c| c.display_name_from_ds.as_deref()),
    ]
    .into_iter()
    .flatten()
    .find(|s| !s.is_empty())
    .map(str::to_owned)
    .or_else(|| (!labels.is_empty()).then(|| format_labels(labels)))
    .or_else(|| field.name.clone().filter(|s| !s.is_empty()))
    .or_else(|| frame_name.filter(|s| !s.is_empty()).map(str::to_owned))
    .unwrap_or_else(|| ref_id.to_owned())
}

/// Prometheus style: `metric{job="api", le="0.5"}`; `metric` alone when `__name__` is the only
/// label. Prometheus's own series are named the same way, so legends match.
pub(crate) fn format_labels(labels: &BTreeMap<String, String>) -> String {
    let metric = labels.get("__name__").map(String::as_str).unwrap_or("");
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    if rest.is_empty() {
        metric.to_owned()
    } else {
        format!("{metric}{{{}}}", rest.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    const ALL_TYPES_FRAME: &str = include_str!("testdata/plugin-sdk-all_types.frame.golden.json");
    const SAMPLE_DATA_RESPONSE: &str =
        include_str!("testdata/plugin-sdk-sample_query_results.dataresponse.json");

    fn decode(body: &str) -> DsQueryResponse {
        decode_ds_query(body.as_bytes(), DEFAULT_MAX_RESPONSE_BYTES).unwrap()
    }

    fn series<'a>(r: &'a DsQueryResponse, name: &str) -> &'a Series {
        r.series
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no series {name} in {:?}", r.series))
    }

    #[test]
    fn the_plugin_sdk_sample_data_response_decodes_to_one_named_series() {
        let body = format!(r#"{{"results":{{"A":{SAMPLE_DATA_RESPONSE}}}}}"#);
        let r = decode(&body);
        assert!(r.errors.is_empty() && r.skipped.is_empty(), "{r:?}");
        assert_eq!(r.series.len(), 1);
        let s = &r.series[0];
        assert_eq!((s.ref_id.as_str(), s.name.as_str()), ("A", "A-series"));
        assert_eq!(s.times_ms.len(), 12);
        assert_eq!(s.values.len(), 12);
        assert_eq!(s.times_ms[0], 1708955198367);
        assert_eq!(s.values[11], Some(8.029678541545398));
        assert!(s.labels.is_empty());
        assert_eq!(s.unit, None);
    }

    /// A number field of a long frame, its series put back together in time order.
    fn field(r: &DsQueryResponse, name: &str) -> Series {
        let prefix = format!("{name}{{");
        let mut rows: Vec<(i64, Option<f64>)> = r
            .series
            .iter()
            .filter(|s| s.name.starts_with(&prefix))
            .flat_map(|s| s.times_ms.iter().copied().zip(s.values.iter().copied()))
            .collect();
        rows.sort_by_key(|(t, _)| *t);
        Series {
            ref_id: "A".into(),
            name: name.into(),
            labels: BTreeMap::new(),
            unit: None,
            times_ms: rows.iter().map(|(t, _)| *t).collect(),
            values: rows.iter().map(|(_, v)| *v).collect(),
        }
    }

    #[test]
    fn the_plugin_sdk_all_types_frame_keeps_every_number_field_and_reports_the_rest() {
        let body =
            format!(r#"{{"results":{{"A":{{"status":200,"frames":[{ALL_TYPES_FRAME}]}}}}}}"#);
        let r = decode(&body);
        // Its two string fields make it a long frame whose five rows each have their own
        // strings: 24 number fields × 5 label combinations, over the first time field.
        assert_eq!(
            r.series.len(),
            24 * 5,
            "{:?}",
            r.series.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
        assert!(r.series.iter().all(|s| s.values.len() == 1));
        let first = &r.series[0];
        assert_eq!(
            first.name,
            r#"int8_values{nullable_string_values="Grafana", string_values="Go Min"}"#
        );
        assert_eq!(
            series(
                &r,
                r#"int8_values{nullable_string_values="", string_values="0 / nil / misc"}"#
            )
            .times_ms,
            [1568039450000]
        );
        let int8 = field(&r, "int8_values");
        assert_eq!(
            int8.times_ms,
            [0, 9007199254, 1568039445000, 1568039450000, 9223372036854]
        );
        let int64 = field(&r, "int64_values");
        assert_eq!(int64.values[0], Some(-9223372036854775808.0));
        assert_eq!(
            field(&r, "uint64_values").values[4],
            Some(18446744073709551615.0)
        );
        // Row 2 (time 1568039450000) sorts fourth.
        assert_eq!(field(&r, "nullable_int8_values").values[3], None);
        // entities: {"NaN": [0], "Inf": [1], "NegInf": [3]} over [null, null, 1, null, 0], in
        // time order rows 0, 3, 1, 2, 4.
        let nans = &field(&r, "float32_values_nans").values;
        assert!(nans[0].unwrap().is_nan());
        assert_eq!(nans[1], Some(f64::NEG_INFINITY));
        assert_eq!(nans[2], Some(f64::INFINITY));
        assert_eq!(nans[3], Some(1.0));
        assert_eq!(nans[4], Some(0.0));
        // [-Inf, 0, null, NaN, +Inf] in rows 0..5.
        let nullable_nans = &field(&r, "nullable_float64_values_nans").values;
        assert_eq!(nullable_nans[0], Some(f64::NEG_INFINITY));
        assert!(nullable_nans[1].unwrap().is_nan());
        assert_eq!(nullable_nans[2], Some(0.0));
        assert_eq!(nullable_nans[3], None);
        assert_eq!(nullable_nans[4], Some(f64::INFINITY));

        let skipped: Vec<(&str, &SkipReason)> = r
            .skipped
            .iter()
            .map(|s| (s.field.as_str(), &s.reason))
            .collect();
        let not_numeric = |t: &str| SkipReason::NotNumeric {
            field_type: t.into(),
        };
        // The string fields are labels now, not skipped fields.
        assert!(
            !skipped.iter().any(|(f, _)| f.contains("string")),
            "{skipped:?}"
        );
        assert!(skipped.contains(&("nullable_bool_values", &not_numeric("boolean"))));
        assert!(skipped.contains(&("json", &not_numeric("other"))));
        assert!(skipped.contains(&("enum", &not_numeric("enum"))));
        assert!(skipped.contains(&("nullable_timestamps", &SkipReason::ExtraTimeField)));
        assert_eq!(r.skipped.len(), 35 - 24 - 1 - 2);
    }

    #[test]
    fn the_display_name_prefers_config_then_labels_then_the_field_name() {
        let body = r#"{"results":{"A":{"frames":[{"schema":{"fields":[
            {"name":"Time","type":"time","typeInfo":{"frame":"time.Time"}},
            {"name":"Value","type":"number","typeInfo":{"frame":"float64"},"labels":{"job":"api"},
             "config":{"displayNameFromDS":"api errors","unit":"reqps"}},
            {"name":"Value","type":"number","typeInfo":{"frame":"float64"},
             "labels":{"__name__":"up","job":"api","instance":"web-1:9100"}},
            {"name":"Value","type":"number","typeInfo":{"frame":"float64"},"labels":{"__name__":"up"}},
            {"name":"plain","type":"number","typeInfo":{"frame":"float64"},
             "config":{"displayName":"override","displayNameFromDS":"ds"}}]},
            "data":{"values":[[1,2],[1,2],[1,2],[1,2],[1,2]]}}]}}}"#;
        let r = decode(body);
        let names: Vec<&str> = r.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "api errors",
                r#"up{instance="web-1:9100", job="api"}"#,
                "up",
                "override"
            ]
        );
        assert_eq!(r.series[0].unit.as_deref(), Some("reqps"));
        assert_eq!(
            r.series[0].labels.get("job").map(String::as_str),
            Some("api")
        );
    }

    #[test]
    fn inf_and_nan_strings_and_nulls_become_values_and_gaps() {
        let body = r#"{"results":{"A":{"frames":[{"schema":{"fields":[
            {"name":"t","type":"time","typeInfo":{"frame":"time.Time"}},
            {"name":"v","type":"number","typeInfo":{"frame":"float64","nullable":true}}]},
            "data":{"values":[[1,2,3,4,5,6,7],[null,"+Inf","-Inf","NaN","inf","2.5","garbage"]]}}]}}}"#;
        let v = &decode(body).series[0].values;
        assert_eq!(v[0], None);
        assert_eq!(v[1], Some(f64::INFINITY));
        assert_eq!(v[2], Some(f64::NEG_INFINITY));
        assert!(v[3].unwrap().is_nan());
        assert_eq!(v[4], Some(f64::INFINITY));
        assert_eq!(v[5], Some(2.5));
        assert_eq!(v[6], None);
    }

    #[test]
    fn a_failing_query_is_reported_beside_the_series_of_the_others() {
        let body = r#"{"results":{
            "A":{"status":200,"frames":[{"schema":{"refId":"A","fields":[
                {"name":"t","type":"time","typeInfo":{"frame":"time.Time"}},
                {"name":"v","type":"number","typeInfo":{"frame":"float64"}}]},
                "data":{"values":[[1],[1]]}}]},
            "B":{"status":400,"error":"bad_data: parse error at char 5","errorSource":"downstream"},
            "C":{"status":500,"frames":[]},
            "D":{"status":200,"frames":[]}}}"#;
        let r = decode(body);
        assert_eq!(r.series.len(), 1);
        assert_eq!(r.series[0].ref_id, "A");
        assert_eq!(
            r.errors,
            [
                QueryError {
                    ref_id: "B".into(),
                    status: Some(400),
                    message: "bad_data: parse error at char 5".into()
                },
                QueryError {
                    ref_id: "C".into(),
                    status: Some(500),
                    message: "the query failed with status 500".into()
                },
            ]
        );
    }

    #[test]
    fn several_frames_per_ref_id_each_give_their_series() {
        let frame = |job: &str, v: f64| {
            format!(
                r#"{{"schema":{{"refId":"A","fields":[
                {{"name":"Time","type":"time","typeInfo":{{"frame":"time.Time"}}}},
                {{"name":"Value","type":"number","typeInfo":{{"frame":"float64"}},"labels":{{"job":"{job}"}}}}]}},
                "data":{{"values":[[10,20],[{v},{v}]]}}}}"#
            )
        };
        let body = format!(
            r#"{{"results":{{"A":{{"frames":[{},{}]}}}}}}"#,
            frame("a", 1.0),
            frame("b", 2.0)
        );
        let r = decode(&body);
        assert_eq!(r.series.len(), 2);
        assert_eq!(r.series[0].name, r#"{job="a"}"#);
        assert_eq!(r.series[1].values, [Some(2.0), Some(2.0)]);
        assert_eq!(r.series[1].times_ms, [10, 20]);
    }

    #[test]
    fn data_before_schema_still_decodes() {
        let body = r#"{"results":{"A":{"frames":[{"data":{"values":[[1,2,null],[5,null,7],["x","y","z"]]},
            "schema":{"fields":[{"name":"t","type":"time","typeInfo":{"frame":"time.Time"}},
            {"name":"v","type":"number","typeInfo":{"frame":"int64","nullable":true}},
            {"name":"s","type":"string","typeInfo":{"frame":"string"}}]}}]}}}"#;
        let r = decode(body);
        // The row with a null time is dropped.
        assert_eq!(r.series[0].times_ms, [1, 2]);
        assert_eq!(r.series[0].values, [Some(5.0), None]);
        // The string column came before its schema: not kept, so the frame is read as wide.
        assert_eq!(r.series.len(), 1);
        assert_eq!(r.skipped.len(), 1);
    }

    #[test]
    fn a_long_frame_gives_one_series_per_label_combination() {
        // The long-format example of
        // https://grafana.com/developers/plugin-tools/key-concepts/data-frames#long-format, with
        // a null host, a row of null time, and a labelled number field.
        let body = r#"{"results":{"A":{"frames":[{"schema":{"fields":[
            {"name":"time","type":"time","typeInfo":{"frame":"time.Time"}},
            {"name":"temperature","type":"number","typeInfo":{"frame":"float64"},"config":{"unit":"celsius"}},
            {"name":"humidity","type":"number","typeInfo":{"frame":"float64"},"labels":{"room":"1"}},
            {"name":"sensor","type":"string","typeInfo":{"frame":"string"}},
            {"name":"host","type":"string","typeInfo":{"frame":"string","nullable":true}}]},
            "data":{"values":[
              [1000,1000,2000,2000,null,3000],
              [20.5,21,20.6,21.2,99,"NaN"],
              [45,50,46,51,99,47],
              ["a","b","a","b","a","a"],
              ["h1","h1","h1","h1","h1",null]]}}]}}}"#;
        let r = decode(body);
        assert!(r.skipped.is_empty() && r.errors.is_empty(), "{r:?}");
        let names: Vec<&str> = r.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                r#"temperature{host="h1", sensor="a"}"#,
                r#"temperature{host="h1", sensor="b"}"#,
                r#"temperature{host="", sensor="a"}"#,
                r#"humidity{host="h1", room="1", sensor="a"}"#,
                r#"humidity{host="h1", room="1", sensor="b"}"#,
                r#"humidity{host="", room="1", sensor="a"}"#,
            ]
        );
        let a = &r.series[0];
        assert_eq!(a.times_ms, [1000, 2000]);
        assert_eq!(a.values, [Some(20.5), Some(20.6)]);
        assert_eq!(a.unit.as_deref(), Some("celsius"));
        assert_eq!(a.labels.get("sensor").map(String::as_str), Some("a"));
        assert!(!a.labels.contains_key("__name__"));
        assert_eq!(r.series[1].values, [Some(21.0), Some(21.2)]);
        assert!(r.series[2].values[0].unwrap().is_nan());
        assert_eq!(r.series[4].times_ms, [1000, 2000]);
        assert_eq!(r.series[4].values, [Some(50.0), Some(51.0)]);
    }

    #[test]
    fn string_fields_without_numbers_beside_them_are_reported() {
        let body = r#"{"results":{"A":{"frames":[{"schema":{"fields":[
            {"name":"time","type":"time","typeInfo":{"frame":"time.Time"}},
            {"name":"msg","type":"string","typeInfo":{"frame":"string"}},
            {"name":"short","type":"string","typeInfo":{"frame":"string"}},
            {"name":"v","type":"number","typeInfo":{"frame":"float64"}}]},
            "data":{"values":[[1,2],["x","y"],["z"],[1,2]]}},
            {"schema":{"fields":[
            {"name":"time","type":"time","typeInfo":{"frame":"time.Time"}},
            {"name":"msg","type":"string","typeInfo":{"frame":"string"}}]},
            "data":{"values":[[1,2],["x","y"]]}}]}}}"#;
        let r = decode(body);
        // A ragged string column is left out of the labels.
        assert_eq!(r.series.len(), 2);
        assert_eq!(r.series[0].name, r#"v{msg="x"}"#);
        let reasons: Vec<_> = r
            .skipped
            .iter()
            .map(|s| (s.frame, s.field.as_str(), s.reason.clone()))
            .collect();
        assert_eq!(
            reasons,
            [
                (
                    0,
                    "short",
                    SkipReason::LengthMismatch {
                        values: 1,
                        times: 2
                    }
                ),
                (
                    1,
                    "msg",
                    SkipReason::NotNumeric {
                        field_type: "string".into()
                    }
                ),
            ]
        );
    }

    #[test]
    fn frames_without_time_or_with_ragged_columns_are_reported_not_fatal() {
        let body = r#"{"results":{"A":{"frames":[
            {"schema":{"meta":{"type":"numeric-multi"},"fields":[{"name":"v","type":"number","typeInfo":{"frame":"float64"}}]},
             "data":{"values":[[1]]}},
            {"schema":{"fields":[{"name":"t","type":"time","typeInfo":{"frame":"time.Time"}},
              {"name":"short","type":"number","typeInfo":{"frame":"float64"}},
              {"name":"missing","type":"number","typeInfo":{"frame":"float64"}}]},
             "data":{"values":[[1,2,3],[1,2]]}},
            {"schema":{"fields":[{"name":"t","type":"time","typeInfo":{"frame":"time.Time"}},
              {"name":"v","type":"number","typeInfo":{"frame":"float64"}}]},
             "data":{"values":[["2024-01-01","x"],[1,2]]}}]}}}"#;
        let r = decode(body);
        assert!(r.series.is_empty());
        let reasons: Vec<_> = r
            .skipped
            .iter()
            .map(|s| (s.frame, s.reason.clone()))
            .collect();
        assert_eq!(
            reasons,
            [
                (0, SkipReason::NoTimeField),
                (
                    1,
                    SkipReason::LengthMismatch {
                        values: 2,
                        times: 3
                    }
                ),
                (1, SkipReason::MissingColumn),
                (2, SkipReason::BadTimeColumn),
            ]
        );
    }

    #[test]
    fn schema_metadata_of_the_wrong_type_does_not_sink_the_values() {
        let body = r#"{"results":{"A":{"frames":[{"schema":{"name":7,"fields":[
            {"name":"t","typeInfo":{"frame":"time.Time"}},
            {"name":"v","typeInfo":{"frame":"float32"},"labels":"job=api","config":{"unit":5}}]},
            "data":{"values":[[1],[2]],"entities":"nonsense","nanos":[null,null]}}]}}}"#;
        // entities must be an array: that one is a shape error, the rest is tolerated.
        assert_eq!(
            decode_ds_query(body.as_bytes(), 1 << 20)
                .unwrap_err()
                .code(),
            ErrorCode::MalformedResponse
        );
        let r = decode(&body.replace(r#""nonsense""#, "[null,null]"));
        assert_eq!(r.series[0].name, "v");
        assert_eq!(r.series[0].unit, None);
        assert!(r.series[0].labels.is_empty());
    }

    #[test]
    fn an_oversized_body_is_refused_before_parsing() {
        let e = decode_ds_query(&[b' '; 100], 99).unwrap_err();
        assert_eq!(e.code(), ErrorCode::ResponseTooLarge);
        assert!(e.to_string().contains("99"), "{e}");
    }

    #[test]
    fn a_truncated_or_foreign_body_is_a_malformed_response_without_its_text() {
        for body in [
            &br#"{"results":{"A":{"frames":[{"schema":{"fields":[]},"data":{"values":[[1,2"#[..],
            b"<html>login</html>",
            br#"{"results":["secret-looking-text"]}"#,
        ] {
            let e = decode_ds_query(body, 1 << 20).unwrap_err();
            assert_eq!(e.code(), ErrorCode::MalformedResponse, "{e}");
            assert!(!e.to_string().contains("secret-looking-text"), "{e}");
        }
    }

    #[test]
    fn the_response_serializes_in_snake_case_with_nan_as_null() {
        let body = r#"{"results":{"A":{"frames":[{"schema":{"fields":[
            {"name":"t","type":"time","typeInfo":{"frame":"time.Time"}},
            {"name":"v","type":"number","typeInfo":{"frame":"float64"}},
            {"name":"b","type":"boolean","typeInfo":{"frame":"bool"}}]},
            "data":{"values":[[1,2],[1.5,"NaN"],[true,false]]}}]}}}"#;
        let json = serde_json::to_value(decode(body)).unwrap();
        assert_eq!(json["series"][0]["ref_id"], "A");
        assert_eq!(json["series"][0]["times_ms"], serde_json::json!([1, 2]));
        assert_eq!(json["series"][0]["values"], serde_json::json!([1.5, null]));
        assert_eq!(
            json["skipped"][0]["reason"],
            serde_json::json!({"kind": "not-numeric", "field_type": "boolean"})
        );
    }

    #[test]
    fn many_short_columns_after_a_long_one_decode() {
        let long: Vec<String> = (0..10_000).map(|i| i.to_string()).collect();
        let body = format!(
            r#"{{"results":{{"A":{{"frames":[{{"schema":{{"fields":[
            {{"name":"t","type":"time","typeInfo":{{"frame":"time.Time"}}}},
            {{"name":"v","type":"number","typeInfo":{{"frame":"float64"}}}}]}},
            "data":{{"values":[[{}],[1]{}]}}}}]}}}}}}"#,
            long.join(","),
            ",[]".repeat(1000)
        );
        let r = decode(&body);
        assert!(r.series.is_empty());
        assert_eq!(
            r.skipped[0].reason,
            SkipReason::LengthMismatch {
                values: 1,
                times: 10_000
            }
        );
    }

    #[test]
    fn an_empty_or_message_only_body_has_no_series() {
        assert_eq!(decode(r#"{"results":{}}"#), DsQueryResponse::default());
        assert_eq!(
            decode(r#"{"message":"Query data error"}"#),
            DsQueryResponse::default()
        );
    }
}
