//! Whether a value is at its default, for the keys left out of the serialized config there.

/// Whether a value is its type's default, for keys that are left out when at their default.
pub(super) fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}
