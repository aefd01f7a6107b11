// Detector (hit) images in C++: the same pixels as detcnn's Python rasteriser (src/detcnn/physics/hit_images.py)
// with the counter-based readout noise of readout_noise.hpp.
//
// Header-only, C++17, the standard library alone. One event at a time:
//
//   detcnn::HitImageSpec spec = detcnn::HitImageSpec::from_metadata(package_metadata);  // or set the fields
//   detcnn::HitEvent event;      // x, y, z [cm], t [ns], q [ke-] per hit; the event id of the noise
//   event.id = detcnn::event_id("nue_000.root", entry);
//   std::vector<float> image = detcnn::hit_image(event, spec);   // V * C * n_pix * n_pix, view-major
//
// Each view's window starts margin_pix pixels before the start_quantile quantile of the charge along its
// columns and is centred on the charge-weighted mean of its rows; the charge [ke-] is summed per pixel (in
// double, then float), the optional time channel is the charge-weighted mean hit time [ns], noise is added
// and pixels under threshold zeroed. Python's arithmetic in the same order: images agree to float precision
// and every hit not on a pixel edge lands in the same pixel. Compile without -ffast-math.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "detcnn/jet_image.hpp"  // detail:: helpers (metadata parsing)
#include "detcnn/readout_noise.hpp"

namespace detcnn {

/// A view: rows along x or y, columns along z (NOvA-like xz, yz); or the wire planes u, v (+-60 degrees)
/// and w of a MicroBooNE-like TPC (rows along the drift x).
enum class View { xz, yz, u, v, w };
enum class HitChannel { charge, time };

inline View view_from_name(const std::string& name) {
    if (name == "xz") return View::xz;
    if (name == "yz") return View::yz;
    if (name == "u") return View::u;
    if (name == "v") return View::v;
    if (name == "w") return View::w;
    throw std::invalid_argument("unknown view '" + name + "'; valid: u, v, w, xz, yz");
}

/// (row direction, column direction) of a view, unit vectors (x drift, y up, z beam); the sin and cos of
/// 60 degrees are numpy's values to the bit (Python: hit_images.VIEWS).
inline void view_directions(View view, double row[3], double col[3]) {
    const double s60 = 0x1.bb67ae8584caap-1, c60 = 0x1.0000000000001p-1;
    const double x[3] = {1.0, 0.0, 0.0}, y[3] = {0.0, 1.0, 0.0}, z[3] = {0.0, 0.0, 1.0};
    const double u[3] = {0.0, s60, c60}, v[3] = {0.0, -s60, c60};
    const double* r = view == View::yz ? y : x;
    const double* c = view == View::u ? u : view == View::v ? v : z;
    for (int k = 0; k < 3; ++k) {
        row[k] = r[k];
        col[k] = c[k];
    }
}

/// How to draw detector images (Python: detcnn.physics.hit_images.HitImageSpec, same defaults) and the seed
/// of the readout noise (the rasterise seed).
struct HitImageSpec {
    std::vector<View> views{View::xz, View::yz};
    int n_pix = 48;
    double pitch_cm = 3.0;
    std::vector<HitChannel> channels{HitChannel::charge};
    int margin_pix = 4;
    double start_quantile = 0.02;
    double noise_ke = 5.0;
    double threshold_ke = 15.0;
    std::uint64_t seed = 0;

    /// Floats per image: views * channels * n_pix * n_pix.
    std::size_t image_size() const {
        return views.size() * channels.size() * static_cast<std::size_t>(n_pix) * n_pix;
    }

    /// Throws std::invalid_argument for settings Python rejects.
    void check() const {
        if (views.empty()) throw std::invalid_argument("a detector image needs at least one view");
        if (channels.empty() || channels[0] != HitChannel::charge || channels.size() > 2 ||
            (channels.size() == 2 && channels[1] != HitChannel::time))
            throw std::invalid_argument("channels must be [charge] or [charge, time]");
        if (n_pix < 4 || !(pitch_cm > 0) || margin_pix < 0 || margin_pix >= n_pix)
            throw std::invalid_argument("need n_pix >= 4, pitch_cm > 0 and 0 <= margin_pix < n_pix");
        if (noise_ke < 0 || threshold_ke < 0) throw std::invalid_argument("noise_ke and threshold_ke must be >= 0");
    }

    /// The settings stored by ``detcnn export-aoti`` (keys ``detcnn.hit_images.*`` and ``detcnn.seed``).
    static HitImageSpec from_metadata(const detail::Metadata& meta) {
        const std::string p = "detcnn.hit_images.";
        HitImageSpec spec;
        spec.views.clear();
        for (const auto& name : detail::split(detail::need(meta, p + "views"), ',')) spec.views.push_back(view_from_name(name));
        spec.channels.clear();
        for (const auto& name : detail::split(detail::need(meta, p + "channels"), ',')) {
            if (name != "charge" && name != "time") throw std::invalid_argument("unknown hit channel '" + name + "'");
            spec.channels.push_back(name == "charge" ? HitChannel::charge : HitChannel::time);
        }
        spec.n_pix = std::stoi(detail::need(meta, p + "n_pix"));
        spec.pitch_cm = std::stod(detail::need(meta, p + "pitch_cm"));
        spec.margin_pix = std::stoi(detail::need(meta, p + "margin_pix"));
        spec.start_quantile = std::stod(detail::need(meta, p + "start_quantile"));
        spec.noise_ke = std::stod(detail::need(meta, p + "noise_ke"));
        spec.threshold_ke = std::stod(detail::need(meta, p + "threshold_ke"));
        spec.seed = std::stoull(detail::need(meta, "detcnn.seed"));
        spec.check();
        return spec;
    }
};

/// One event's hits (equal lengths) and its event id (readout_noise.hpp event_id(file, entry)).
struct HitEvent {
    std::vector<double> x, y, z;  ///< [cm]
    std::vector<double> t;        ///< [ns] (read only with the time channel)
    std::vector<double> q;        ///< collected charge [ke-], >= 0
    std::uint64_t id = 0;
};

/// The ``q``-weighted ``quantile`` of ``values``: the first value, in increasing order, where the cumulative
/// weight reaches the quantile of the total (Python: hit_images.weighted_quantile, one event).
inline double weighted_quantile(const std::vector<double>& values, const std::vector<double>& weights, double quantile) {
    const std::size_t n = values.size();
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
    double total = 0.0;
    for (std::size_t i = 0; i < n; ++i) total += weights[i];
    const double target = quantile * total * (1.0 - 1e-12);
    double cum = 0.0;
    std::size_t below = 0;
    for (std::size_t k = 0; k < n; ++k) {
        cum += weights[order[k]];
        if (!(cum < target)) break;
        ++below;
    }
    return values[order[std::min(below, n - 1)]];
}

/// Draw one event into ``out`` (``spec.image_size()`` floats, ``(V * C, n_pix, n_pix)`` view-major: [view0
/// charge, view0 time, view1 charge, ...]); returns the hits outside their window. An event without hits
/// gives an empty image (Python drops it; so does one without a pixel above threshold: see visible()).
inline std::size_t hit_image_into(const HitEvent& ev, const HitImageSpec& spec, float* out) {
    const std::size_t n = ev.x.size(), side = static_cast<std::size_t>(spec.n_pix), plane = side * side;
    const bool with_time = spec.channels.size() == 2;
    if (ev.y.size() != n || ev.z.size() != n || ev.q.size() != n || (with_time && ev.t.size() != n))
        throw std::invalid_argument("the hit arrays of an event (x, y, z, t, q) differ in length");
    const std::size_t n_chan = spec.channels.size();
    std::fill(out, out + spec.image_size(), 0.0f);
    if (n == 0) return 0;
    double q_sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) q_sum += ev.q[i];
    const double pitch = spec.pitch_cm;
    std::vector<double> rows(n), cols(n), qsum(plane), qt(plane);
    std::size_t n_outside = 0;
    double start = 0.0, start_dir[3] = {0.0, 0.0, 0.0};  // views with the same column axis (xz, yz) share it
    for (std::size_t v = 0; v < spec.views.size(); ++v) {
        double rd[3], cd[3];
        view_directions(spec.views[v], rd, cd);
        const bool new_columns = v == 0 || cd[0] != start_dir[0] || cd[1] != start_dir[1] || cd[2] != start_dir[2];
        double centre = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            rows[i] = ev.x[i] * rd[0] + ev.y[i] * rd[1] + ev.z[i] * rd[2];
            cols[i] = ev.x[i] * cd[0] + ev.y[i] * cd[1] + ev.z[i] * cd[2];
            centre += ev.q[i] * rows[i];
        }
        centre = centre / (q_sum > 0 ? q_sum : 1.0);
        if (new_columns) {
            start = weighted_quantile(cols, ev.q, spec.start_quantile);
            std::copy(cd, cd + 3, start_dir);
        }
        const double col0 = start - spec.margin_pix * pitch;
        const double row0 = centre - 0.5 * static_cast<double>(side) * pitch;
        std::fill(qsum.begin(), qsum.end(), 0.0);
        std::fill(qt.begin(), qt.end(), 0.0);
        for (std::size_t i = 0; i < n; ++i) {
            const double fi = std::floor((rows[i] - row0) / pitch), fj = std::floor((cols[i] - col0) / pitch);
            if (!(fi >= 0 && fi < static_cast<double>(side) && fj >= 0 && fj < static_cast<double>(side))) {
                ++n_outside;
                continue;
            }
            const std::size_t pix = static_cast<std::size_t>(fi) * side + static_cast<std::size_t>(fj);
            qsum[pix] += ev.q[i];
            if (with_time) qt[pix] += ev.q[i] * ev.t[i];
        }
        float* charge = out + v * n_chan * plane;
        for (std::size_t k = 0; k < plane; ++k) {
            charge[k] = static_cast<float>(qsum[k]);
            if (with_time) {
                const double denom = charge[k] > 0 ? static_cast<double>(charge[k]) : 1.0;
                charge[plane + k] = static_cast<float>(qt[k] / denom);  // the time plane follows the charge
            }
        }
    }
    const std::uint64_t base = event_base(spec.seed, ev.id);
    for (std::size_t v = 0; v < spec.views.size(); ++v) {
        float* charge = out + v * n_chan * plane;
        add_noise_and_threshold(charge, plane, base, v * plane, spec.noise_ke, spec.threshold_ke);
        if (with_time)
            for (std::size_t k = 0; k < plane; ++k)
                if (!(charge[k] > 0)) charge[plane + k] = 0.0f;
    }
    return n_outside;
}

/// The image of one event, ``(V * C, n_pix, n_pix)`` flattened.
inline std::vector<float> hit_image(const HitEvent& ev, const HitImageSpec& spec, std::size_t* n_outside = nullptr) {
    std::vector<float> out(spec.image_size());
    const std::size_t off = hit_image_into(ev, spec, out.data());
    if (n_outside) *n_outside = off;
    return out;
}

/// Whether an image of ``spec`` has a charge pixel above zero (Python keeps only such events).
inline bool visible(const float* image, const HitImageSpec& spec) {
    const std::size_t plane = static_cast<std::size_t>(spec.n_pix) * spec.n_pix;
    for (std::size_t v = 0; v < spec.views.size(); ++v) {
        const float* charge = image + v * spec.channels.size() * plane;
        for (std::size_t k = 0; k < plane; ++k)
            if (charge[k] > 0) return true;
    }
    return false;
}

}  // namespace detcnn
