// Jet images in C++: the same pixels as detcnn's Python rasteriser (src/detcnn/physics/jet_images.py and its
// compiled twin src/detcnn/physics/compiled.py; the constituents' rapidity as in rasterisers/jets.py).
//
// Header-only, C++17, the standard library alone. One jet at a time:
//
//   detcnn::JetImageSpec spec = detcnn::JetImageSpec::from_metadata(package_metadata);  // or set the fields
//   detcnn::JetInput jet;            // pt [GeV], eta, phi [rad], charge [e]; mass [GeV] optional (empty)
//   jet.jet_phi = ...;               // the jet's azimuth [rad]: the reference of Delta phi
//   std::vector<float> image = detcnn::jet_image(jet, spec);   // C * n_pix * n_pix, channel-major
//
// The image is centred on the pT-weighted centroid of the constituents (so the jet's own rapidity is not
// needed), optionally rotated (principal axis vertical) and flipped (hardest quadrant upper right), then
// the constituents are summed into float32 pixels: columns along the longitudinal axis (rapidity or
// pseudorapidity), rows along Delta phi, row 0 the lowest Delta phi. The arithmetic is Python's, in the same
// order (double sums, float32 pixel sums), so images agree to float precision and every constituent not on
// a pixel edge lands in the same pixel. Compile without -ffast-math (the sums' order matters).
#pragma once

#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace detcnn {

/// Pixel content of a channel (Python: jet_images.CHANNELS).
enum class JetChannel { charged_pt, neutral_pt, charged_multiplicity, total_pt, multiplicity };
/// The image's longitudinal axis (Python: ImageSpec.axis).
enum class JetAxis { rapidity, pseudorapidity };

namespace detail {

inline std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find(sep, start);
        if (end == std::string::npos) end = text.size();
        if (end > start) out.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

using Metadata = std::unordered_map<std::string, std::string>;

inline const std::string& need(const Metadata& meta, const std::string& key) {
    auto it = meta.find(key);
    if (it == meta.end())
        throw std::invalid_argument("the model package has no metadata key '" + key +
                                    "': export it with `detcnn export-aoti --preprocessing ...`");
    return it->second;
}

inline bool parse_bool(const std::string& key, const std::string& value) {
    if (value == "true") return true;
    if (value == "false") return false;
    throw std::invalid_argument("metadata '" + key + "' must be true or false, got '" + value + "'");
}

/// Python's float modulo (the sign of the divisor), as numba and numpy compute ``%``.
inline double py_mod(double a, double b) {
    double r = std::fmod(a, b);
    if (r != 0.0) {
        if ((r < 0.0) != (b < 0.0)) r += b;
    } else {
        r = std::copysign(0.0, b);
    }
    return r;
}

/// Delta phi wrapped into [-pi, pi) (Python: kinematics.wrap_phi).
inline double wrap_phi(double d) {
    const double pi = 3.141592653589793;
    return py_mod(d + pi, 2.0 * pi) - pi;
}

/// Pixel index floor((v + offset) / step) of coordinate ``v``; -1 when off the n_pix grid.
inline long pixel(double v, double offset, double step, int n_pix) {
    double f = std::floor((v + offset) / step);
    return (f >= 0.0 && f < n_pix) ? static_cast<long>(f) : -1;
}

}  // namespace detail

inline JetChannel jet_channel(const std::string& name) {
    if (name == "charged_pt") return JetChannel::charged_pt;
    if (name == "neutral_pt") return JetChannel::neutral_pt;
    if (name == "charged_multiplicity") return JetChannel::charged_multiplicity;
    if (name == "total_pt") return JetChannel::total_pt;
    if (name == "multiplicity") return JetChannel::multiplicity;
    throw std::invalid_argument("unknown jet image channel '" + name +
                                "'; valid: charged_multiplicity, charged_pt, multiplicity, neutral_pt, total_pt");
}

/// How to draw a jet image (Python: detcnn.physics.jet_images.ImageSpec, same defaults).
struct JetImageSpec {
    int n_pix = 33;
    double half_width = 0.4;  ///< the image covers [-half_width, half_width) in both coordinates
    std::vector<JetChannel> channels{JetChannel::charged_pt, JetChannel::neutral_pt,
                                     JetChannel::charged_multiplicity};
    bool rotate = true;
    bool flip = true;
    bool normalise_pt_sum = false;  ///< normalise: "pt_sum" (true) or "none" (false)
    JetAxis axis = JetAxis::rapidity;

    /// Floats per image: channels * n_pix * n_pix.
    std::size_t image_size() const { return channels.size() * static_cast<std::size_t>(n_pix) * n_pix; }

    /// Throws std::invalid_argument for settings Python rejects.
    void check() const {
        if (n_pix < 1 || !(half_width > 0.0)) throw std::invalid_argument("n_pix must be >= 1 and half_width > 0");
        if (channels.empty()) throw std::invalid_argument("a jet image needs at least one channel");
    }

    /// The settings stored by ``detcnn export-aoti`` (keys ``detcnn.images.*``; lists comma-separated,
    /// booleans true/false, numbers as Python's repr, which strtod reads back exactly).
    static JetImageSpec from_metadata(const detail::Metadata& meta) {
        const std::string p = "detcnn.images.";
        JetImageSpec spec;
        spec.n_pix = std::stoi(detail::need(meta, p + "n_pix"));
        spec.half_width = std::stod(detail::need(meta, p + "half_width"));
        spec.channels.clear();
        for (const auto& name : detail::split(detail::need(meta, p + "channels"), ',')) spec.channels.push_back(jet_channel(name));
        spec.rotate = detail::parse_bool(p + "rotate", detail::need(meta, p + "rotate"));
        spec.flip = detail::parse_bool(p + "flip", detail::need(meta, p + "flip"));
        const std::string& norm = detail::need(meta, p + "normalise");
        if (norm != "none" && norm != "pt_sum")
            throw std::invalid_argument("normalise must be 'none' or 'pt_sum', got '" + norm + "'");
        spec.normalise_pt_sum = norm == "pt_sum";
        const std::string& axis = detail::need(meta, p + "axis");
        if (axis != "rapidity" && axis != "pseudorapidity")
            throw std::invalid_argument("axis must be 'rapidity' or 'pseudorapidity', got '" + axis + "'");
        spec.axis = axis == "rapidity" ? JetAxis::rapidity : JetAxis::pseudorapidity;
        spec.check();
        return spec;
    }
};

/// One jet: its constituents (equal lengths; ``mass`` empty for massless constituents) and azimuth.
struct JetInput {
    std::vector<double> pt;      ///< [GeV]
    std::vector<double> eta;     ///< pseudorapidity
    std::vector<double> phi;     ///< [rad]
    std::vector<double> charge;  ///< [e]; only charge != 0 matters
    std::vector<double> mass;    ///< [GeV], empty: massless (the rapidity axis then uses eta as is)
    double jet_phi = 0.0;        ///< [rad]
};

/// Rapidity y = asinh(pT sinh(eta) / sqrt(pT^2 + m^2)) (Python: kinematics.rapidity).
inline double rapidity(double pt, double eta, double mass) {
    return std::asinh(pt * std::sinh(eta) / std::sqrt(pt * pt + mass * mass));
}

/// Draw the image of constituents given on the image's longitudinal coordinate ``y`` (rapidity or
/// pseudorapidity, already chosen) into ``out`` (``spec.image_size()`` floats, zeroed here). Every array
/// has ``n`` entries. Returns the number of constituents off the grid. The fused loop of
/// detcnn.physics.compiled._images_kernel, statement for statement.
inline std::size_t jet_image_into(std::size_t n, const double* pt, const double* y, const double* phi,
                                  const double* charge, double jet_phi, const JetImageSpec& spec, float* out) {
    const int n_pix = spec.n_pix;
    const double hw = spec.half_width, step = 2.0 * hw / n_pix;
    const std::size_t per_image = static_cast<std::size_t>(n_pix) * n_pix;
    for (std::size_t k = 0; k < spec.image_size(); ++k) out[k] = 0.0f;
    std::vector<double> xs(n), ys(n);
    double spt = 0.0, seta = 0.0, sphi = 0.0;  // pT-weighted centroid in (y, Delta phi about the jet)
    for (std::size_t i = 0; i < n; ++i) {
        double dphi = detail::wrap_phi(phi[i] - jet_phi);
        ys[i] = dphi;
        spt += pt[i];
        seta += pt[i] * y[i];
        sphi += pt[i] * dphi;
    }
    const double safe = spt > 0 ? spt : 1.0, eta_c = seta / safe, phi_c = sphi / safe;
    for (std::size_t i = 0; i < n; ++i) {
        xs[i] = y[i] - eta_c;
        ys[i] = ys[i] - phi_c;
    }
    if (spec.rotate) {
        double sxx = 0.0, syy = 0.0, sxy = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            sxx += pt[i] * xs[i] * xs[i];
            syy += pt[i] * ys[i] * ys[i];
            sxy += pt[i] * xs[i] * ys[i];
        }
        const double pi = 3.141592653589793;
        const double alpha = 0.5 * pi - 0.5 * std::atan2(2.0 * sxy, sxx - syy);
        const double c = std::cos(alpha), s = std::sin(alpha);
        for (std::size_t i = 0; i < n; ++i) {
            const double xi = xs[i], yi = ys[i];
            xs[i] = c * xi - s * yi;
            ys[i] = s * xi + c * yi;
        }
    }
    if (spec.flip) {
        double q[4] = {0.0, 0.0, 0.0, 0.0};
        for (std::size_t i = 0; i < n; ++i) q[(xs[i] < 0 ? 1 : 0) + (ys[i] < 0 ? 2 : 0)] += pt[i];
        int hardest = 0;  // the first maximum, as numpy's argmax
        for (int k = 1; k < 4; ++k)
            if (q[k] > q[hardest]) hardest = k;
        const double sign_x = (hardest == 1 || hardest == 3) ? -1.0 : 1.0, sign_y = hardest >= 2 ? -1.0 : 1.0;
        for (std::size_t i = 0; i < n; ++i) {
            xs[i] = sign_x * xs[i];
            ys[i] = sign_y * ys[i];
        }
    }
    double scale = 1.0;
    if (spec.normalise_pt_sum) {
        double total = 0.0;
        for (std::size_t i = 0; i < n; ++i)
            if (detail::pixel(xs[i], hw, step, n_pix) >= 0 && detail::pixel(ys[i], hw, step, n_pix) >= 0) total += pt[i];
        scale = total > 0 ? 1.0 / total : 1.0;
    }
    std::size_t n_outside = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const long ix = detail::pixel(xs[i], hw, step, n_pix), iy = detail::pixel(ys[i], hw, step, n_pix);
        if (ix < 0 || iy < 0) {
            ++n_outside;
            continue;
        }
        const bool charged = charge[i] != 0;
        for (std::size_t ch = 0; ch < spec.channels.size(); ++ch) {
            double w;
            bool is_pt = true;
            switch (spec.channels[ch]) {
                case JetChannel::charged_pt: w = charged ? pt[i] : 0.0; break;
                case JetChannel::neutral_pt: w = charged ? 0.0 : pt[i]; break;
                case JetChannel::total_pt: w = pt[i]; break;
                case JetChannel::charged_multiplicity: w = charged ? 1.0 : 0.0; is_pt = false; break;
                default: w = 1.0; is_pt = false; break;
            }
            if (spec.normalise_pt_sum && is_pt) w = w * scale;
            out[ch * per_image + static_cast<std::size_t>(iy) * n_pix + static_cast<std::size_t>(ix)] += static_cast<float>(w);
        }
    }
    return n_outside;
}

/// The longitudinal image coordinate of every constituent of ``jet`` (rasterisers/jets.py chunk_arrays): on
/// the rapidity axis the massive rapidity where ``jet.mass`` is given, else (and on the pseudorapidity
/// axis) eta itself.
inline std::vector<double> longitudinal(const JetInput& jet, JetAxis axis) {
    if (axis == JetAxis::pseudorapidity || jet.mass.empty()) return jet.eta;
    std::vector<double> y(jet.eta.size());
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = rapidity(jet.pt[i], jet.eta[i], jet.mass[i]);
    return y;
}

/// Draw one jet into ``out`` (``spec.image_size()`` floats); returns the constituents off the grid. Throws
/// std::invalid_argument when the constituent arrays differ in length.
inline std::size_t jet_image_into(const JetInput& jet, const JetImageSpec& spec, float* out) {
    const std::size_t n = jet.pt.size();
    if (jet.eta.size() != n || jet.phi.size() != n || jet.charge.size() != n || (!jet.mass.empty() && jet.mass.size() != n))
        throw std::invalid_argument("the constituent arrays of a jet (pt, eta, phi, charge, mass) differ in length");
    const std::vector<double> y = longitudinal(jet, spec.axis);
    return jet_image_into(n, jet.pt.data(), y.data(), jet.phi.data(), jet.charge.data(), jet.jet_phi, spec, out);
}

/// The image of one jet, ``(C, n_pix, n_pix)`` flattened (channel, row = Delta phi, column = Delta y).
inline std::vector<float> jet_image(const JetInput& jet, const JetImageSpec& spec, std::size_t* n_outside = nullptr) {
    std::vector<float> out(spec.image_size());
    const std::size_t off = jet_image_into(jet, spec, out.data());
    if (n_outside) *n_outside = off;
    return out;
}

}  // namespace detcnn
