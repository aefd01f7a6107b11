// Counter-based readout noise of detector images: the Gaussian electronic noise of a pixel is a pure function
// of (seed, event id, pixel), so any program reproduces Python's (src/detcnn/physics/readout_noise.py).
//
// Header-only, C++17, the standard library alone. The spec (shared with Python, all integers uint64 mod 2^64):
//   splitmix64(z): z += 0x9E3779B97F4A7C15; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
//                  z = (z ^ (z >> 27)) * 0x94D049BB133111EB; return z ^ (z >> 31)
//   event id   = (crc32(basename of the ROOT file, UTF-8) << 32) | entry   (entry: before any selection)
//   event base = splitmix64(splitmix64(seed) ^ event id)                   (seed: the rasterise seed)
//   pixel p    = (view * n_pix + row) * n_pix + column                     (of the event's charge planes)
//   a = splitmix64(base + 2p), b = splitmix64(base + 2p + 1)
//   u1 = ((a >> 11) + 1) * 2^-53 in (0, 1], u2 = (b >> 11) * 2^-53 in [0, 1)
//   z = sqrt(-2 ln u1) * cos(2 pi u2)                                      (double)
//   charge[p] (float) += float(noise_ke * z); then charge[p] = 0 where charge[p] < float(threshold_ke)
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

namespace detcnn {

/// SplitMix64's output function (Steele, Lea, Flood 2014).
constexpr std::uint64_t splitmix64(std::uint64_t z) {
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) of ``data``: Python's zlib.crc32.
inline std::uint32_t crc32(const std::string& data) {
    std::uint32_t crc = 0xFFFFFFFFu;
    for (unsigned char byte : data) {
        crc ^= byte;
        for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc ^ 0xFFFFFFFFu;
}

/// The part of ``path`` after its last '/' (the file name the event id is made of).
inline std::string basename(const std::string& path) {
    const std::size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

/// The event id of entry ``entry`` (its number in the file, before any selection) of the ROOT file ``path``.
inline std::uint64_t event_id(const std::string& path, std::uint64_t entry) {
    return (static_cast<std::uint64_t>(crc32(basename(path))) << 32) | entry;
}

/// The noise stream of one event: every pixel's draw derives from it.
inline std::uint64_t event_base(std::uint64_t seed, std::uint64_t event) {
    return splitmix64(splitmix64(seed) ^ event);
}

/// The standard normal draw of pixel ``p`` of the event of ``base`` (Box-Muller on two counter-based words).
inline double pixel_normal(std::uint64_t base, std::uint64_t p) {
    const double two_m53 = 1.0 / 9007199254740992.0;  // 2^-53, exact
    const std::uint64_t a = splitmix64(base + 2 * p), b = splitmix64(base + 2 * p + 1);
    const double u1 = static_cast<double>((a >> 11) + 1) * two_m53;
    const double u2 = static_cast<double>(b >> 11) * two_m53;
    const double two_pi = 2.0 * 3.141592653589793;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(two_pi * u2);
}

/// Add the noise (sigma ``noise_ke``) to ``n`` float pixels ``charge`` numbered ``first``, ``first + 1``, ...
/// and zero those below ``threshold_ke`` (zero suppression). With noise_ke = 0 only the threshold applies.
inline void add_noise_and_threshold(float* charge, std::size_t n, std::uint64_t base, std::uint64_t first,
                                    double noise_ke, double threshold_ke) {
    const float threshold = static_cast<float>(threshold_ke);
    for (std::size_t k = 0; k < n; ++k) {
        if (noise_ke > 0) charge[k] += static_cast<float>(noise_ke * pixel_normal(base, first + k));
        if (charge[k] < threshold) charge[k] = 0.0f;
    }
}

}  // namespace detcnn
