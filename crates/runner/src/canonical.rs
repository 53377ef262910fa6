//! Canonical JSON written straight from a value's `Serialize`: compact, object keys
//! sorted at every level, every number in one form. The text is the one
//! `serde_json::to_value` followed by key-sorted writing and number normalisation gives
//! ([`crate::identity::normalize`]), without building the value tree: a config's id costs
//! a few allocations instead of one per key and value (`plan` of 100,000 cells hashes
//! 200,000 configs).
//!
//! Every choice below follows `serde_json`'s value serializer: `None`, `()` and unit
//! structs are `null`; a unit variant is its name; a newtype variant, tuple variant or
//! struct variant is a one-key object `{"variant": ...}`; bytes are an array of numbers;
//! a non-finite float is `null`; `f32` is widened to `f64`; map keys become strings.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use serde::ser::{self, Serialize};

/// Appends the canonical JSON of `value` to `out`.
pub fn write<T: Serialize + ?Sized>(value: &T, out: &mut String) -> Result<(), Error> {
    // The thread's pools are taken for the whole value (one thread-local access per
    // value, not per object) and put back after it.
    let mut pools = POOLS.with(|pools| std::mem::take(&mut *pools.borrow_mut()));
    let written = value.serialize(Canon {
        out,
        pools: &mut pools,
    });
    POOLS.with(|kept| *kept.borrow_mut() = pools);
    written
}

/// What one thread reuses from value to value: the scratch buffers of finished objects
/// (a config is about ten nested objects, and a sweep hashes one per cell) and the
/// layouts of the structs it has written.
#[derive(Default)]
struct Pools {
    spare: Vec<(String, Vec<Entry>)>,
    layouts: Vec<Layout>,
}

thread_local! {
    static POOLS: RefCell<Pools> = RefCell::default();
}

/// A value that has no JSON form (a map key that is not a string or an integer, or a
/// 128-bit integer): never the case for a config.
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(message: T) -> Error {
        Error(message.to_string())
    }
}

/// A float as `normalize` leaves it: an integral value below 2^53 (and -0.0) as that
/// integer, a non-finite one as `null`, any other in `serde_json`'s shortest form (the
/// `zmij` formatter its `Number` displays floats with; a test compares the two).
fn write_f64(x: f64, out: &mut String) {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if !x.is_finite() {
        out.push_str("null");
    } else if x.fract() == 0.0 && x.abs() < EXACT {
        write_integer(x as i64, out);
    } else {
        out.push_str(zmij::Buffer::new().format_finite(x));
    }
}

/// An integer in decimal, as `serde_json` writes one (through `itoa`).
fn write_integer(value: impl itoa::Integer, out: &mut String) {
    out.push_str(itoa::Buffer::new().format(value));
}

/// A JSON string as `serde_json` writes it: printable ASCII without `"` or `\` as it is
/// (every key and value of a config), anything else through `serde_json`'s escaping.
fn write_string(text: &str, out: &mut String) {
    if text
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        out.push_str(&serde_json::Value::from(text).to_string());
    }
}

struct Canon<'a> {
    out: &'a mut String,
    pools: &'a mut Pools,
}

/// The elements of an array, written as they come; `close` ends it (`]`, or `]}` inside
/// a tuple variant's one-key object).
struct Array<'a> {
    out: &'a mut String,
    pools: &'a mut Pools,
    first: bool,
    close: &'static str,
}

impl Array<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        value.serialize(Canon {
            out: self.out,
            pools: self.pools,
        })
    }

    fn finish(self) {
        self.out.push_str(self.close);
    }
}

/// The entries of an object, each value written into `scratch` as it comes and the keys
/// sorted at the end; `close` ends it (`}`, or `}}` inside a struct variant's object).
struct Object<'a> {
    out: &'a mut String,
    pools: &'a mut Pools,
    scratch: String,
    entries: Vec<Entry>,
    pending_key: Option<String>,
    close: &'static str,
}

/// An object's key, and where its value's text lies in the object's scratch buffer.
type Entry = (Cow<'static, str>, usize, usize);

impl<'a> Object<'a> {
    fn new(out: &'a mut String, pools: &'a mut Pools, close: &'static str) -> Object<'a> {
        let (scratch, entries) = pools.spare.pop().unwrap_or_default();
        Object {
            out,
            pools,
            scratch,
            entries,
            pending_key: None,
            close,
        }
    }

    fn entry<T: Serialize + ?Sized>(
        &mut self,
        key: Cow<'static, str>,
        value: &T,
    ) -> Result<(), Error> {
        let start = self.scratch.len();
        value.serialize(Canon {
            out: &mut self.scratch,
            pools: &mut *self.pools,
        })?;
        self.entries.push((key, start, self.scratch.len()));
        Ok(())
    }

    fn finish(mut self) {
        self.out.push('{');
        if !self.write_by_layout() {
            // A later entry under the same key replaces an earlier one, as in a map.
            self.entries.reverse();
            self.entries.sort_by(|a, b| a.0.cmp(&b.0));
            self.entries.dedup_by(|later, earlier| later.0 == earlier.0);
            for (i, (key, start, end)) in self.entries.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                write_string(key, self.out);
                self.out.push(':');
                self.out.push_str(&self.scratch[*start..*end]);
            }
        }
        self.out.push_str(self.close);
        let (mut scratch, mut entries) = (self.scratch, self.entries);
        scratch.clear();
        entries.clear();
        self.pools.spare.push((scratch, entries));
    }

    /// Writes the entries through the [`Layout`] of a struct with these keys in this order
    /// (made on the struct's first object on this thread), or returns false where there is
    /// none: a map's entries (unless their keys are some struct's, which sorts them alike),
    /// or keys that repeat.
    fn write_by_layout(&mut self) -> bool {
        let mut fields = Vec::new();
        let layouts = &mut self.pools.layouts;
        let index = match layouts
            .iter()
            .position(|layout| layout.is_for(&self.entries))
        {
            Some(index) => index,
            None => {
                for (key, _, _) in &self.entries {
                    match key {
                        Cow::Borrowed(key) => fields.push(*key),
                        Cow::Owned(_) => return false,
                    }
                }
                match Layout::of(fields) {
                    Some(layout) if layouts.len() < MAX_LAYOUTS => {
                        layouts.push(layout);
                        layouts.len() - 1
                    }
                    _ => return false,
                }
            }
        };
        let layout = &layouts[index];
        for (i, (&field, prefix)) in layout.sorted.iter().zip(&layout.prefixes).enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            let (_, start, end) = self.entries[field];
            self.out.push_str(prefix);
            self.out.push_str(&self.scratch[start..end]);
        }
        true
    }
}

/// The most struct layouts a thread keeps (a config has about ten kinds of struct).
const MAX_LAYOUTS: usize = 64;

/// How one struct's fields are written: their names in the order serde gives them (the
/// same `&'static str`s every time), which field comes at each place in key order, and
/// the text before each value there (`"name":`, escaped as [`write_string`] escapes).
/// The same text the sort in [`Object::finish`] gives, without sorting every object.
struct Layout {
    fields: Vec<&'static str>,
    sorted: Vec<usize>,
    prefixes: Vec<String>,
}

impl Layout {
    /// The layout of a struct with these fields, or `None` where a name repeats.
    fn of(fields: Vec<&'static str>) -> Option<Layout> {
        let mut sorted: Vec<usize> = (0..fields.len()).collect();
        sorted.sort_by_key(|&i| fields[i]);
        if sorted.windows(2).any(|w| fields[w[0]] == fields[w[1]]) {
            return None;
        }
        let prefixes = sorted
            .iter()
            .map(|&i| {
                let mut prefix = String::new();
                write_string(fields[i], &mut prefix);
                prefix.push(':');
                prefix
            })
            .collect();
        Some(Layout {
            fields,
            sorted,
            prefixes,
        })
    }

    /// Whether these entries are the fields of this layout: the same names, in the same
    /// order.
    fn is_for(&self, entries: &[Entry]) -> bool {
        self.fields.len() == entries.len()
            && self.fields.iter().zip(entries).all(|(field, (key, _, _))| {
                let key: &str = key;
                std::ptr::eq(*field, key) || *field == key
            })
    }
}

/// A map key as `serde_json` makes one: a string as it is, an integer (or a bool) as its
/// text.
fn key_text<T: Serialize + ?Sized>(key: &T) -> Result<String, Error> {
    match serde_json::to_value(key).map_err(|err| Error(err.to_string()))? {
        serde_json::Value::String(text) => Ok(text),
        serde_json::Value::Number(n) if !n.is_f64() => Ok(n.to_string()),
        serde_json::Value::Bool(b) => Ok(b.to_string()),
        other => Err(Error(format!("a map key must be a string, not {other}"))),
    }
}

impl<'a> ser::Serializer for Canon<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Array<'a>;
    type SerializeTuple = Array<'a>;
    type SerializeTupleStruct = Array<'a>;
    type SerializeTupleVariant = Array<'a>;
    type SerializeMap = Object<'a>;
    type SerializeStruct = Object<'a>;
    type SerializeStructVariant = Object<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out.push_str(if v { "true" } else { "false" });
        Ok(())
    }

    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }

    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }

    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }

    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        write_integer(v, self.out);
        Ok(())
    }

    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }

    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }

    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }

    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        write_integer(v, self.out);
        Ok(())
    }

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.serialize_f64(v.into())
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        write_f64(v, self.out);
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_string(v.encode_utf8(&mut [0; 4]), self.out);
        Ok(())
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_string(v, self.out);
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        use ser::SerializeSeq;
        let mut array = self.serialize_seq(Some(v.len()))?;
        for byte in v {
            array.serialize_element(byte)?;
        }
        array.end()
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.out.push_str("null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.out.push('{');
        write_string(variant, self.out);
        self.out.push(':');
        value.serialize(Canon {
            out: self.out,
            pools: self.pools,
        })?;
        self.out.push('}');
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Array<'a>, Error> {
        self.out.push('[');
        Ok(Array {
            out: self.out,
            pools: self.pools,
            first: true,
            close: "]",
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Array<'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Array<'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Array<'a>, Error> {
        self.out.push('{');
        write_string(variant, self.out);
        self.out.push_str(":[");
        Ok(Array {
            out: self.out,
            pools: self.pools,
            first: true,
            close: "]}",
        })
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Object<'a>, Error> {
        Ok(Object::new(self.out, self.pools, "}"))
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Object<'a>, Error> {
        Ok(Object::new(self.out, self.pools, "}"))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Object<'a>, Error> {
        self.out.push('{');
        write_string(variant, self.out);
        self.out.push(':');
        Ok(Object::new(self.out, self.pools, "}}"))
    }
}

/// The four kinds of array serde distinguishes, each written as one JSON array.
macro_rules! array_kinds {
    ($($kind:ident::$method:ident),*) => {$(
        impl ser::$kind for Array<'_> {
            type Ok = ();
            type Error = Error;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }

            fn end(self) -> Result<(), Error> {
                self.finish();
                Ok(())
            }
        }
    )*};
}

array_kinds!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Object<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.pending_key = Some(key_text(key)?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .pending_key
            .take()
            .ok_or_else(|| Error("a map value came before its key".to_string()))?;
        self.entry(Cow::Owned(key), value)
    }

    fn end(self) -> Result<(), Error> {
        self.finish();
        Ok(())
    }
}

/// A struct and a struct variant's fields, each written as one JSON object.
macro_rules! struct_kinds {
    ($($kind:ident),*) => {$(
        impl ser::$kind for Object<'_> {
            type Ok = ();
            type Error = Error;

            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.entry(Cow::Borrowed(key), value)
            }

            fn end(self) -> Result<(), Error> {
                self.finish();
                Ok(())
            }
        }
    )*};
}

struct_kinds!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
mod tests {
    use super::*;

    /// The text `serde_json` gives a number, normalised as `write_f64` promises: the route
    /// canonical text took before `write_f64` called the formatters directly.
    fn through_serde_json(x: f64) -> String {
        crate::identity::normalize(serde_json::json!(x)).to_string()
    }

    #[test]
    fn floats_and_integers_are_written_as_serde_json_writes_them() {
        let mut specials = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            1e-7,
            1.5e-300,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::MIN,
            9_007_199_254_740_992.0,
            9_007_199_254_740_991.0,
            -9_007_199_254_740_993.0,
            1e21,
            123_456.789,
            f64::NAN,
            f64::INFINITY,
        ];
        // Bit patterns spread over every exponent, from a fixed LCG.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            specials.push(f64::from_bits(state));
            specials.push((state >> 40) as f64 / 1024.0);
        }
        for x in specials {
            let mut ours = String::new();
            write_f64(x, &mut ours);
            assert_eq!(ours, through_serde_json(x), "{x:e} ({:#x})", x.to_bits());
        }
        for v in [i64::MIN, -1, 0, 7, i64::MAX] {
            let mut ours = String::new();
            write_integer(v, &mut ours);
            assert_eq!(ours, serde_json::json!(v).to_string());
        }
        let mut ours = String::new();
        write_integer(u64::MAX, &mut ours);
        assert_eq!(ours, serde_json::json!(u64::MAX).to_string());
    }
}
