#pragma once
// A small strict JSON value type, parser and writer for the files a model directory holds
// (config.json, safetensors headers, model.safetensors.index.json). Objects keep their key order so
// that a loaded config.json is written back the way it came; duplicate keys are rejected.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace l0sparse::json {

class Value {
 public:
  enum class Kind { Null, Bool, Number, String, Array, Object };

  Value() = default;
  static Value null() { return Value(); }
  static Value boolean(bool b);
  static Value number(double d);
  static Value integer(int64_t i);
  static Value string(std::string s);
  static Value array();
  static Value object();

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::Null; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  bool is_number() const { return kind_ == Kind::Number; }
  bool is_string() const { return kind_ == Kind::String; }
  bool is_array() const { return kind_ == Kind::Array; }
  bool is_object() const { return kind_ == Kind::Object; }
  // A number written without fraction or exponent that fits int64 exactly.
  bool is_integer() const { return kind_ == Kind::Number && exact_integer_; }

  bool as_bool() const { return bool_; }
  double as_double() const { return number_; }
  int64_t as_int() const { return integer_; }
  const std::string& as_string() const { return string_; }

  // Array elements, or object values (in key order).
  const std::vector<Value>& items() const { return items_; }
  // Object keys, parallel to items().
  const std::vector<std::string>& keys() const { return keys_; }
  size_t size() const { return items_.size(); }

  // Object lookup; nullptr when absent (or when this is not an object).
  const Value* find(std::string_view key) const;
  // Object insert-or-replace (keeps the position of an existing key).
  void set(const std::string& key, Value v);
  void push_back(Value v) { items_.push_back(std::move(v)); }

 private:
  Kind kind_ = Kind::Null;
  bool bool_ = false;
  bool exact_integer_ = false;
  double number_ = 0;
  int64_t integer_ = 0;
  std::string string_;
  std::vector<std::string> keys_;
  std::vector<Value> items_;
};

// Parses a whole document. `source` names the file in errors ("<source>: invalid JSON at byte N: why").
// Throws c10::Error. Nesting deeper than 256 levels is rejected (no stack exhaustion from hostile input).
Value parse(std::string_view text, const std::string& source);

// Serialises with `indent` spaces per level (0 = compact, one line). Numbers round-trip exactly.
std::string dump(const Value& value, int indent = 2);

// Typed member access with errors that name the source and key.
const Value& require(const Value& object, std::string_view key, const std::string& source);
std::optional<int64_t> optional_int(const Value& object, std::string_view key, const std::string& source);
std::optional<double> optional_number(const Value& object, std::string_view key, const std::string& source);
std::optional<std::string> optional_string(const Value& object, std::string_view key, const std::string& source);
std::optional<bool> optional_bool(const Value& object, std::string_view key, const std::string& source);

}  // namespace l0sparse::json
