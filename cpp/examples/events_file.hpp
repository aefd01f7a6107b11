// The example programs' input: events as text, and settings as "key value" lines.
//
// EVENTS.txt (whitespace-separated, column blocks as numpy writes them; "%.17g" keeps doubles exact;
// src/detcnn/deploy/cpp_events.py writes it):
//   jets: detcnn-events 1 jets <n_jets> <n_constituents> <with_mass 0|1>
//         <constituents per jet: n_jets integers>
//         <jet phi [rad]: n_jets numbers>
//         <pt eta phi charge [mass]: one line per constituent, the jets one after the other>
//   hits: detcnn-events 1 hits <n_events> <n_hits> <file name>
//         <hits per event: n_events integers>
//         <entry numbers in the file: n_events integers>   (with the file name: the event ids of the noise)
//         <x y z t q: one line per hit, the events one after the other>
// SETTINGS.txt: one "key value" per line, the keys of the model package's metadata (detcnn.images.n_pix 33).
#pragma once

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "detcnn/hit_image.hpp"
#include "detcnn/jet_image.hpp"

namespace detcnn_example {

/// The events of an events file: jets or hit events, whichever its header names.
struct Events {
    std::string kind;  ///< "jets" or "hits"
    std::vector<detcnn::JetInput> jets;
    std::vector<detcnn::HitEvent> hits;
    std::size_t size() const { return kind == "jets" ? jets.size() : hits.size(); }
};

template <typename T>
std::vector<T> read_block(std::istream& in, std::size_t n, const std::string& what) {
    std::vector<T> out(n);
    for (auto& v : out) in >> v;
    if (!in) throw std::runtime_error("truncated events file: " + what);
    return out;
}

inline void read_jets(std::istream& in, Events& ev) {
    std::size_t n = 0, n_const = 0;
    int with_mass = 0;
    if (!(in >> n >> n_const >> with_mass)) throw std::runtime_error("bad header line");
    const auto counts = read_block<std::size_t>(in, n, "constituent counts");
    const auto phi = read_block<double>(in, n, "jet phi");
    ev.jets.resize(n);
    for (std::size_t j = 0; j < n; ++j) {
        detcnn::JetInput& jet = ev.jets[j];
        jet.jet_phi = phi[j];
        for (auto* v : {&jet.pt, &jet.eta, &jet.phi, &jet.charge}) v->resize(counts[j]);
        if (with_mass) jet.mass.resize(counts[j]);
        for (std::size_t i = 0; i < counts[j]; ++i) {
            in >> jet.pt[i] >> jet.eta[i] >> jet.phi[i] >> jet.charge[i];
            if (with_mass) in >> jet.mass[i];
        }
        if (!in) throw std::runtime_error("truncated at jet " + std::to_string(j));
    }
}

inline void read_hits(std::istream& in, Events& ev, bool with_time) {
    std::size_t n = 0, n_hits = 0;
    std::string file;
    if (!(in >> n >> n_hits >> file)) throw std::runtime_error("bad header line");
    const auto counts = read_block<std::size_t>(in, n, "hit counts");
    const auto entries = read_block<std::uint64_t>(in, n, "entry numbers");
    ev.hits.resize(n);
    for (std::size_t e = 0; e < n; ++e) {
        detcnn::HitEvent& hit = ev.hits[e];
        hit.id = detcnn::event_id(file, entries[e]);
        for (auto* v : {&hit.x, &hit.y, &hit.z, &hit.t, &hit.q}) v->resize(counts[e]);
        for (std::size_t i = 0; i < counts[e]; ++i) in >> hit.x[i] >> hit.y[i] >> hit.z[i] >> hit.t[i] >> hit.q[i];
        if (!with_time) hit.t.clear();
        if (!in) throw std::runtime_error("truncated at event " + std::to_string(e));
    }
}

/// Read an events file; ``with_time``: keep the hits' times (the time channel needs them).
inline Events read_events(const std::string& path, bool with_time) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::string magic;
    int version = 0;
    Events ev;
    if (!(in >> magic >> version >> ev.kind) || magic != "detcnn-events" || version != 1 ||
        (ev.kind != "jets" && ev.kind != "hits"))
        throw std::runtime_error(path + ": expected the header 'detcnn-events 1 jets ...' or 'detcnn-events 1 hits ...'");
    try {
        if (ev.kind == "jets") read_jets(in, ev);
        else read_hits(in, ev, with_time);
    } catch (const std::runtime_error& exc) {
        throw std::runtime_error(path + ": " + exc.what());
    }
    return ev;
}

/// "key value" lines (the value: the rest of the line after one space).
inline std::unordered_map<std::string, std::string> read_settings(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::unordered_map<std::string, std::string> out;
    std::string line;
    while (std::getline(in, line)) {
        const std::size_t space = line.find(' ');
        if (line.empty()) continue;
        if (space == std::string::npos) throw std::runtime_error(path + ": expected 'key value', got '" + line + "'");
        out[line.substr(0, space)] = line.substr(space + 1);
    }
    return out;
}

/// The image settings of a model package's metadata and the drawing of one event with them.
struct Drawer {
    std::string kind;  ///< "jets" or "hits": detcnn.events
    detcnn::JetImageSpec jet;
    detcnn::HitImageSpec hit;

    static Drawer from_metadata(const std::unordered_map<std::string, std::string>& meta) {
        Drawer d;
        auto it = meta.find("detcnn.events");
        d.kind = it == meta.end() ? "" : it->second;
        if (d.kind == "jets") d.jet = detcnn::JetImageSpec::from_metadata(meta);
        else if (d.kind == "hits") d.hit = detcnn::HitImageSpec::from_metadata(meta);
        else throw std::runtime_error("metadata 'detcnn.events' must be jets or hits, got '" + d.kind + "'");
        return d;
    }
    std::size_t image_size() const { return kind == "jets" ? jet.image_size() : hit.image_size(); }
    long channels() const {
        return static_cast<long>(kind == "jets" ? jet.channels.size() : hit.views.size() * hit.channels.size());
    }
    long side() const { return kind == "jets" ? jet.n_pix : hit.n_pix; }
    bool with_time() const { return kind == "hits" && hit.channels.size() == 2; }

    /// Draw event ``e`` of ``events`` into ``out`` (image_size() floats); false when it has nothing to draw
    /// (a hit event without hits or without a pixel above threshold: Python drops it).
    bool draw(const Events& events, std::size_t e, float* out) const {
        if (kind == "jets") {
            detcnn::jet_image_into(events.jets[e], jet, out);
            return true;
        }
        detcnn::hit_image_into(events.hits[e], hit, out);
        return !events.hits[e].x.empty() && detcnn::visible(out, hit);
    }
};

/// Read the events of ``path`` for ``drawer`` (a ``runtime_error`` when they are of another kind).
inline Events read_events_for(const std::string& path, const Drawer& drawer) {
    Events events = read_events(path, drawer.with_time());
    if (events.kind != drawer.kind)
        throw std::runtime_error(path + " holds " + events.kind + " but the settings are for " + drawer.kind);
    return events;
}

}  // namespace detcnn_example
