#include "model/json.h"

#include <c10/util/Exception.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <string_view>

namespace l0sparse::json {

Value Value::boolean(bool b) {
  Value v;
  v.kind_ = Kind::Bool;
  v.bool_ = b;
  return v;
}
Value Value::number(double d) {
  Value v;
  v.kind_ = Kind::Number;
  v.number_ = d;  // stays a float: 1.0 is written back as 1.0, not 1
  return v;
}
Value Value::integer(int64_t i) {
  Value v;
  v.kind_ = Kind::Number;
  v.number_ = static_cast<double>(i);
  v.integer_ = i;
  v.exact_integer_ = true;
  return v;
}
Value Value::string(std::string s) {
  Value v;
  v.kind_ = Kind::String;
  v.string_ = std::move(s);
  return v;
}
Value Value::array() {
  Value v;
  v.kind_ = Kind::Array;
  return v;
}
Value Value::object() {
  Value v;
  v.kind_ = Kind::Object;
  return v;
}

const Value* Value::find(std::string_view key) const {
  if (kind_ != Kind::Object) return nullptr;
  for (size_t i = 0; i < keys_.size(); ++i)
    if (keys_[i] == key) return &items_[i];
  return nullptr;
}

void Value::set(const std::string& key, Value v) {
  for (size_t i = 0; i < keys_.size(); ++i)
    if (keys_[i] == key) {
      items_[i] = std::move(v);
      return;
    }
  keys_.push_back(key);
  items_.push_back(std::move(v));
}

namespace {

constexpr int kMaxDepth = 256;

class Parser {
 public:
  Parser(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  Value document() {
    skip_space();
    Value v = value(0);
    skip_space();
    if (pos_ != text_.size()) fail("unexpected characters after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    TORCH_CHECK(false, source_, ": invalid JSON at byte ", pos_, ": ", why);
  }
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  void skip_space() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++pos_;
  }
  void expect_word(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) fail("unknown literal");
    pos_ += word.size();
  }

  Value value(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than 256 levels");
    if (at_end()) fail("unexpected end of input");
    char c = peek();
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"') return Value::string(string());
    if (c == 't') { expect_word("true"); return Value::boolean(true); }
    if (c == 'f') { expect_word("false"); return Value::boolean(false); }
    if (c == 'n') { expect_word("null"); return Value::null(); }
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    fail(std::string("unexpected character '") + c + "'");
  }

  Value object(int depth) {
    ++pos_;  // {
    Value obj = Value::object();
    skip_space();
    if (peek() == '}') { ++pos_; return obj; }
    while (true) {
      skip_space();
      if (peek() != '"') fail("expected a string key");
      std::string key = string();
      if (obj.find(key)) fail("duplicate key \"" + key + "\"");
      skip_space();
      if (peek() != ':') fail("expected ':' after a key");
      ++pos_;
      skip_space();
      obj.set(key, value(depth + 1));
      skip_space();
      if (peek() == ',') { ++pos_; continue; }
      if (peek() == '}') { ++pos_; return obj; }
      fail("expected ',' or '}' in an object");
    }
  }

  Value array(int depth) {
    ++pos_;  // [
    Value arr = Value::array();
    skip_space();
    if (peek() == ']') { ++pos_; return arr; }
    while (true) {
      skip_space();
      arr.push_back(value(depth + 1));
      skip_space();
      if (peek() == ',') { ++pos_; continue; }
      if (peek() == ']') { ++pos_; return arr; }
      fail("expected ',' or ']' in an array");
    }
  }

  unsigned hex4() {
    if (pos_ + 4 > text_.size()) fail("truncated \\u escape");
    unsigned code = 0;
    for (int i = 0; i < 4; ++i) {
      char h = text_[pos_++];
      code <<= 4;
      if (h >= '0' && h <= '9') code |= h - '0';
      else if (h >= 'a' && h <= 'f') code |= h - 'a' + 10;
      else if (h >= 'A' && h <= 'F') code |= h - 'A' + 10;
      else fail("bad hex digit in a \\u escape");
    }
    return code;
  }

  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string string() {
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      if (at_end()) fail("unterminated string");
      char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character inside a string");
      if (c != '\\') { out += c; continue; }
      if (at_end()) fail("unterminated escape");
      char e = text_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (text_.substr(pos_, 2) != "\\u") fail("unpaired UTF-16 surrogate");
            pos_ += 2;
            unsigned low = hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("bad UTF-16 low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("unpaired UTF-16 surrogate");
          }
          append_utf8(out, cp);
          break;
        }
        default: fail(std::string("unknown escape '\\") + e + "'");
      }
    }
  }

  Value number() {
    size_t start = pos_;
    bool integral = true;
    if (peek() == '-') ++pos_;
    if (peek() == '0') {
      ++pos_;
    } else if (peek() >= '1' && peek() <= '9') {
      while (peek() >= '0' && peek() <= '9') ++pos_;
    } else {
      fail("bad number");
    }
    if (peek() == '.') {
      integral = false;
      ++pos_;
      if (!(peek() >= '0' && peek() <= '9')) fail("digits expected after '.'");
      while (peek() >= '0' && peek() <= '9') ++pos_;
    }
    if (peek() == 'e' || peek() == 'E') {
      integral = false;
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (!(peek() >= '0' && peek() <= '9')) fail("digits expected in an exponent");
      while (peek() >= '0' && peek() <= '9') ++pos_;
    }
    const char* first = text_.data() + start;
    const char* last = text_.data() + pos_;
    if (integral) {
      int64_t i = 0;
      auto r = std::from_chars(first, last, i);
      if (r.ec == std::errc() && r.ptr == last) return Value::integer(i);
    }
    double d = 0;
    auto r = std::from_chars(first, last, d);
    if (r.ec != std::errc() || r.ptr != last || !std::isfinite(d)) fail("number out of range");
    return Value::number(d);
  }

  std::string_view text_;
  const std::string& source_;
  size_t pos_ = 0;
};

void write_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void write_number(std::string& out, const Value& v) {
  char buf[64];
  std::to_chars_result r;
  if (v.is_integer()) {
    r = std::to_chars(buf, buf + sizeof buf, v.as_int());
    out.append(buf, r.ptr);
    return;
  }
  TORCH_CHECK(std::isfinite(v.as_double()), "JSON cannot represent ", v.as_double());
  r = std::to_chars(buf, buf + sizeof buf, v.as_double());  // shortest form that round-trips
  std::string_view text(buf, static_cast<size_t>(r.ptr - buf));
  out += text;
  // Keep floats recognisable as floats for readers that distinguish them (Python's json).
  if (text.find_first_of(".eE") == std::string_view::npos) out += ".0";
}

void write(std::string& out, const Value& v, int indent, int level) {
  auto newline = [&](int lvl) {
    if (indent <= 0) return;
    out += '\n';
    out.append(static_cast<size_t>(indent * lvl), ' ');
  };
  switch (v.kind()) {
    case Value::Kind::Null: out += "null"; break;
    case Value::Kind::Bool: out += v.as_bool() ? "true" : "false"; break;
    case Value::Kind::Number: write_number(out, v); break;
    case Value::Kind::String: write_string(out, v.as_string()); break;
    case Value::Kind::Array:
    case Value::Kind::Object: {
      bool is_obj = v.is_object();
      out += is_obj ? '{' : '[';
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        newline(level + 1);
        if (is_obj) {
          write_string(out, v.keys()[i]);
          out += indent > 0 ? ": " : ":";
        }
        write(out, v.items()[i], indent, level + 1);
      }
      if (v.size()) newline(level);
      out += is_obj ? '}' : ']';
      break;
    }
  }
}

}  // namespace

Value parse(std::string_view text, const std::string& source) { return Parser(text, source).document(); }

std::string dump(const Value& value, int indent) {
  std::string out;
  write(out, value, indent, 0);
  return out;
}

const Value& require(const Value& object, std::string_view key, const std::string& source) {
  TORCH_CHECK(object.is_object(), source, ": expected a JSON object");
  const Value* v = object.find(key);
  TORCH_CHECK(v != nullptr, source, ": missing key \"", key, "\"");
  return *v;
}

std::optional<int64_t> optional_int(const Value& object, std::string_view key, const std::string& source) {
  const Value* v = object.find(key);
  if (!v || v->is_null()) return std::nullopt;
  TORCH_CHECK(v->is_integer(), source, ": \"", key, "\" must be an integer");
  return v->as_int();
}

std::optional<double> optional_number(const Value& object, std::string_view key, const std::string& source) {
  const Value* v = object.find(key);
  if (!v || v->is_null()) return std::nullopt;
  TORCH_CHECK(v->is_number(), source, ": \"", key, "\" must be a number");
  return v->as_double();
}

std::optional<std::string> optional_string(const Value& object, std::string_view key, const std::string& source) {
  const Value* v = object.find(key);
  if (!v || v->is_null()) return std::nullopt;
  TORCH_CHECK(v->is_string(), source, ": \"", key, "\" must be a string");
  return v->as_string();
}

std::optional<bool> optional_bool(const Value& object, std::string_view key, const std::string& source) {
  const Value* v = object.find(key);
  if (!v || v->is_null()) return std::nullopt;
  TORCH_CHECK(v->is_bool(), source, ": \"", key, "\" must be true or false");
  return v->as_bool();
}

}  // namespace l0sparse::json
