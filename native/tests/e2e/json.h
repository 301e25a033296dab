// A minimal JSON reader for the end-to-end driver: enough for a model
// config.json and a safetensors header (objects, arrays, strings with simple
// escapes, numbers, true/false/null). Errors throw std::runtime_error naming
// the byte offset.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace fasternet::e2e {

struct JsonValue {
    enum class Kind { Null, Bool, Number, String, Array, Object } kind = Kind::Null;
    bool boolean = false;
    double number = 0.0;
    std::string text;
    std::vector<JsonValue> items;
    // Keys in file order, with the values beside them (the safetensors header order is not needed).
    std::vector<std::pair<std::string, JsonValue>> members;

    const JsonValue* Find(const std::string& key) const {
        for (const auto& member : members) {
            if (member.first == key) return &member.second;
        }
        return nullptr;
    }
    const JsonValue& At(const std::string& key) const {
        const JsonValue* value = Find(key);
        if (!value) throw std::runtime_error("JSON: missing key \"" + key + "\"");
        return *value;
    }
    double Number() const {
        if (kind != Kind::Number) throw std::runtime_error("JSON: expected a number");
        return number;
    }
    int64_t Integer() const {
        const double value = Number();
        if (value != static_cast<double>(static_cast<int64_t>(value))) {
            throw std::runtime_error("JSON: expected an integer, got " + std::to_string(value));
        }
        return static_cast<int64_t>(value);
    }
    const std::string& String() const {
        if (kind != Kind::String) throw std::runtime_error("JSON: expected a string");
        return text;
    }
    bool Bool() const {
        if (kind != Kind::Bool) throw std::runtime_error("JSON: expected true or false");
        return boolean;
    }
    const std::vector<JsonValue>& Array() const {
        if (kind != Kind::Array) throw std::runtime_error("JSON: expected an array");
        return items;
    }
};

class JsonParser {
public:
    explicit JsonParser(const std::string& text) : text_(text) {}

    JsonValue ParseDocument() {
        JsonValue value = ParseValue(0);
        SkipSpace();
        if (position_ != text_.size()) Fail("trailing characters");
        return value;
    }

private:
    static constexpr int kMaxDepth = 64;

    [[noreturn]] void Fail(const std::string& what) const {
        throw std::runtime_error("JSON: " + what + " at byte " + std::to_string(position_));
    }
    void SkipSpace() {
        while (position_ < text_.size() && (text_[position_] == ' ' || text_[position_] == '\t' ||
                                            text_[position_] == '\n' || text_[position_] == '\r')) {
            ++position_;
        }
    }
    char Peek() {
        SkipSpace();
        if (position_ >= text_.size()) Fail("unexpected end");
        return text_[position_];
    }
    void Expect(char c) {
        if (Peek() != c) Fail(std::string("expected '") + c + "'");
        ++position_;
    }
    bool Consume(const char* word) {
        const std::string w(word);
        if (text_.compare(position_, w.size(), w) != 0) return false;
        position_ += w.size();
        return true;
    }

    JsonValue ParseValue(int depth) {
        if (depth > kMaxDepth) Fail("nesting too deep");
        JsonValue value;
        const char c = Peek();
        if (c == '{') {
            value.kind = JsonValue::Kind::Object;
            ++position_;
            if (Peek() == '}') {
                ++position_;
                return value;
            }
            while (true) {
                if (Peek() != '"') Fail("expected a key");
                std::string key = ParseString();
                Expect(':');
                value.members.emplace_back(std::move(key), ParseValue(depth + 1));
                if (Peek() == ',') {
                    ++position_;
                    continue;
                }
                Expect('}');
                return value;
            }
        }
        if (c == '[') {
            value.kind = JsonValue::Kind::Array;
            ++position_;
            if (Peek() == ']') {
                ++position_;
                return value;
            }
            while (true) {
                value.items.push_back(ParseValue(depth + 1));
                if (Peek() == ',') {
                    ++position_;
                    continue;
                }
                Expect(']');
                return value;
            }
        }
        if (c == '"') {
            value.kind = JsonValue::Kind::String;
            value.text = ParseString();
            return value;
        }
        if (Consume("true")) {
            value.kind = JsonValue::Kind::Bool;
            value.boolean = true;
            return value;
        }
        if (Consume("false")) {
            value.kind = JsonValue::Kind::Bool;
            return value;
        }
        if (Consume("null")) return value;
        if (c == '-' || (c >= '0' && c <= '9')) {
            const char* begin = text_.c_str() + position_;
            char* end = nullptr;
            value.kind = JsonValue::Kind::Number;
            value.number = std::strtod(begin, &end);
            if (end == begin) Fail("bad number");
            position_ += static_cast<size_t>(end - begin);
            return value;
        }
        Fail("unexpected character");
    }

    std::string ParseString() {
        Expect('"');
        std::string out;
        while (true) {
            if (position_ >= text_.size()) Fail("unterminated string");
            const char c = text_[position_++];
            if (c == '"') return out;
            if (c != '\\') {
                out.push_back(c);
                continue;
            }
            if (position_ >= text_.size()) Fail("unterminated escape");
            const char e = text_[position_++];
            switch (e) {
                case '"': out.push_back('"'); break;
                case '\\': out.push_back('\\'); break;
                case '/': out.push_back('/'); break;
                case 'b': out.push_back('\b'); break;
                case 'f': out.push_back('\f'); break;
                case 'n': out.push_back('\n'); break;
                case 'r': out.push_back('\r'); break;
                case 't': out.push_back('\t'); break;
                case 'u': {
                    // Tensor names and config keys are ASCII: accept \u00XX only.
                    if (position_ + 4 > text_.size()) Fail("short \\u escape");
                    const unsigned long code = std::strtoul(text_.substr(position_, 4).c_str(), nullptr, 16);
                    if (code > 0x7F) Fail("non-ASCII \\u escape");
                    out.push_back(static_cast<char>(code));
                    position_ += 4;
                    break;
                }
                default: Fail("bad escape");
            }
        }
    }

    const std::string& text_;
    size_t position_ = 0;
};

inline JsonValue ParseJson(const std::string& text) { return JsonParser(text).ParseDocument(); }

}  // namespace fasternet::e2e
