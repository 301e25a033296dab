// Readers for the end-to-end driver's inputs: numpy .npy arrays (float32,
// little-endian, C order) and safetensors files (8-byte little-endian header
// length, a JSON header of name -> {dtype, shape, data_offsets}, then the
// little-endian data; this machine and AArch64 Linux are little-endian too). Every size and offset is checked against the file before use;
// errors throw std::runtime_error naming the file and what is wrong.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "json.h"

namespace fasternet::e2e {

inline std::string ReadFile(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) throw std::runtime_error("cannot open " + path);
    return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

struct Tensor {
    std::string name;
    std::vector<int64_t> shape;
    std::vector<float> data;
};

inline int64_t ElementCount(const std::vector<int64_t>& shape) {
    int64_t count = 1;
    for (int64_t d : shape) {
        if (d < 0 || (d > 0 && count > (int64_t{1} << 40) / d)) throw std::runtime_error("tensor shape too large");
        count *= d;
    }
    return count;
}

inline std::string ShapeText(const std::vector<int64_t>& shape) {
    std::string text = "(";
    for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + ")";
}

inline uint64_t ReadLittleEndian(const std::string& bytes, size_t offset, int size) {
    uint64_t value = 0;
    for (int i = size - 1; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(bytes[offset + i]);
    return value;
}

// A float32 .npy array (format versions 1 to 3).
inline Tensor ReadNpy(const std::string& path) {
    const std::string bytes = ReadFile(path);
    if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw std::runtime_error(path + ": not a .npy file");
    const int major = static_cast<unsigned char>(bytes[6]);
    const int length_size = major == 1 ? 2 : 4;
    if (major < 1 || major > 3 || bytes.size() < 8u + length_size) throw std::runtime_error(path + ": unknown .npy version");
    const size_t header_length = ReadLittleEndian(bytes, 8, length_size);
    const size_t data_offset = 8 + length_size + header_length;
    if (data_offset > bytes.size()) throw std::runtime_error(path + ": truncated header");
    const std::string header = bytes.substr(8 + length_size, header_length);
    if (header.find("'descr': '<f4'") == std::string::npos) throw std::runtime_error(path + ": dtype is not <f4");
    if (header.find("'fortran_order': False") == std::string::npos) throw std::runtime_error(path + ": not C order");
    const size_t open = header.find('(', header.find("'shape'"));
    const size_t close = header.find(')', open);
    if (open == std::string::npos || close == std::string::npos) throw std::runtime_error(path + ": no shape");
    Tensor tensor;
    tensor.name = path;
    const std::string dims = header.substr(open + 1, close - open - 1);
    size_t start = 0;
    while (start < dims.size()) {
        size_t end = dims.find(',', start);
        if (end == std::string::npos) end = dims.size();
        const std::string item = dims.substr(start, end - start);
        if (item.find_first_not_of(' ') != std::string::npos) tensor.shape.push_back(std::stoll(item));
        start = end + 1;
    }
    const int64_t count = ElementCount(tensor.shape);
    if (bytes.size() - data_offset != static_cast<size_t>(count) * sizeof(float)) {
        throw std::runtime_error(path + ": data size does not match shape " + ShapeText(tensor.shape));
    }
    tensor.data.resize(static_cast<size_t>(count));
    std::memcpy(tensor.data.data(), bytes.data() + data_offset, tensor.data.size() * sizeof(float));
    return tensor;
}

// IEEE half to float, exactly (subnormals, infinities and NaN included).
inline float HalfToFloat(uint16_t half) {
    const uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
    const uint32_t exponent = (half >> 10) & 0x1Fu;
    const uint32_t mantissa = half & 0x3FFu;
    float magnitude;
    if (exponent == 0) {
        magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    } else if (exponent == 31) {
        magnitude = mantissa ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
    } else {
        magnitude = std::ldexp(static_cast<float>(mantissa | 0x400u), static_cast<int>(exponent) - 25);
    }
    uint32_t bits;
    std::memcpy(&bits, &magnitude, sizeof bits);
    bits |= sign;
    std::memcpy(&magnitude, &bits, sizeof bits);
    return magnitude;
}

// bfloat16 is the top half of a float.
inline float Bfloat16ToFloat(uint16_t value) {
    const uint32_t bits = static_cast<uint32_t>(value) << 16;
    float result;
    std::memcpy(&result, &bits, sizeof result);
    return result;
}

// The floating tensors of a safetensors file as float32 (F32, F16 and BF16 are
// read). Integer num_batches_tracked entries (which a converter may keep) are
// skipped; any other tensor of another dtype is an error.
inline std::vector<Tensor> ReadSafetensors(const std::string& path) {
    const std::string bytes = ReadFile(path);
    if (bytes.size() < 8) throw std::runtime_error(path + ": shorter than the 8-byte header length");
    const uint64_t header_length = ReadLittleEndian(bytes, 0, 8);
    if (header_length > bytes.size() - 8) throw std::runtime_error(path + ": header length past the end of the file");
    const JsonValue header = ParseJson(bytes.substr(8, header_length));
    if (header.kind != JsonValue::Kind::Object) throw std::runtime_error(path + ": header is not a JSON object");
    const size_t data_begin = 8 + header_length;
    const size_t data_size = bytes.size() - data_begin;

    std::vector<Tensor> tensors;
    for (const auto& [name, entry] : header.members) {
        if (name == "__metadata__") continue;
        const std::string& dtype = entry.At("dtype").String();
        const auto& offsets = entry.At("data_offsets").Array();
        if (offsets.size() != 2) throw std::runtime_error(path + ": " + name + ": data_offsets needs two numbers");
        const int64_t begin = offsets[0].Integer(), end = offsets[1].Integer();
        if (begin < 0 || end < begin || static_cast<uint64_t>(end) > data_size) {
            throw std::runtime_error(path + ": " + name + ": data_offsets outside the data");
        }
        const size_t element_size = dtype == "F32" ? 4 : (dtype == "F16" || dtype == "BF16") ? 2 : 0;
        if (element_size == 0) {
            if (name.size() >= 19 && name.compare(name.size() - 19, 19, "num_batches_tracked") == 0) continue;
            throw std::runtime_error(path + ": " + name + ": dtype " + dtype + " (F32, F16 and BF16 are read)");
        }
        Tensor tensor;
        tensor.name = name;
        for (const JsonValue& d : entry.At("shape").Array()) tensor.shape.push_back(d.Integer());
        const int64_t count = ElementCount(tensor.shape);
        if (static_cast<uint64_t>(end - begin) != static_cast<uint64_t>(count) * element_size) {
            throw std::runtime_error(path + ": " + name + ": " + std::to_string(end - begin) + " bytes of " + dtype +
                                     " for shape " + ShapeText(tensor.shape));
        }
        tensor.data.resize(static_cast<size_t>(count));
        const char* source = bytes.data() + data_begin + begin;
        if (element_size == 4) {
            std::memcpy(tensor.data.data(), source, static_cast<size_t>(end - begin));
        } else {
            for (int64_t i = 0; i < count; ++i) {
                uint16_t half;
                std::memcpy(&half, source + 2 * i, sizeof half);
                tensor.data[i] = dtype == "F16" ? HalfToFloat(half) : Bfloat16ToFloat(half);
            }
        }
        tensors.push_back(std::move(tensor));
    }
    return tensors;
}

}  // namespace fasternet::e2e
