// score_events: events -> images (detcnn's header-only preprocessing) -> a network compiled ahead of time
// (PyTorch AOTInductor, model.pt2 from `detcnn export-aoti`, run by the torch wheel's libtorch) -> scores.
//
//   score_events MODEL.pt2 EVENTS.txt [--out SCORES.txt] [--images IMAGES.f32] [--batch N] [--threads N]
//
// EVENTS.txt: see events_file.hpp. The image settings come from the package's metadata (detcnn.images.* or
// detcnn.hit_images.*), so the program reads no other configuration. SCORES.txt (default: stdout): one line
// per event, the softmax probabilities of a classifier (metadata detcnn.postprocess = softmax) or the
// network's outputs, "%.9g"; nan for an event with nothing to draw (a detector event without a pixel above
// threshold). IMAGES.f32: the images, float32, one event after the other. --batch: events per network call
// (default 1: event by event, as in a framework's event loop). --threads: intra-op threads (default 1).
// On stderr, one JSON line: events, seconds spent drawing and in the network, events per second.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "events_file.hpp"

namespace {

struct Options {
    std::string model, events, out, images;
    long batch = 1;
    int threads = 1;
};

Options parse_args(int argc, char** argv) {
    if (argc < 3 || (argc - 3) % 2 != 0)
        throw std::invalid_argument("usage: score_events MODEL.pt2 EVENTS.txt [--out F] [--images F] [--batch N] [--threads N]");
    Options o;
    o.model = argv[1];
    o.events = argv[2];
    for (int i = 3; i < argc; i += 2) {
        const std::string flag = argv[i], value = argv[i + 1];
        if (flag == "--out") o.out = value;
        else if (flag == "--images") o.images = value;
        else if (flag == "--batch") o.batch = std::stol(value);
        else if (flag == "--threads") o.threads = std::stoi(value);
        else throw std::invalid_argument("unknown flag " + flag);
    }
    if (o.batch < 1 || o.threads < 1) throw std::invalid_argument("--batch and --threads must be >= 1");
    return o;
}

using Clock = std::chrono::steady_clock;
double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

void write_scores(const std::string& path, const std::vector<std::vector<float>>& scores, std::size_t width) {
    std::FILE* out = path.empty() ? stdout : std::fopen(path.c_str(), "w");
    if (!out) throw std::runtime_error("cannot write " + path);
    for (const auto& s : scores) {
        for (std::size_t k = 0; k < width; ++k) std::fprintf(out, k ? " %.9g" : "%.9g", s.empty() ? std::nanf("") : s[k]);
        std::fprintf(out, "\n");
    }
    if (out != stdout && std::fclose(out) != 0) throw std::runtime_error("cannot write " + path);
}

int run(const Options& o) {
    at::set_num_threads(o.threads);
    torch::inductor::AOTIModelPackageLoader loader(o.model);
    const auto metadata = loader.get_metadata();
    const auto drawer = detcnn_example::Drawer::from_metadata(metadata);
    const auto events = detcnn_example::read_events_for(o.events, drawer);
    const auto post = metadata.find("detcnn.postprocess");
    const bool softmax = post != metadata.end() && post->second == "softmax";
    const std::size_t n = events.size(), size = drawer.image_size();

    std::vector<float> images(n * size), batch(static_cast<std::size_t>(o.batch) * size);
    std::vector<std::vector<float>> scores(n);
    std::vector<std::size_t> rows;  // the events in the batch
    std::size_t width = 0;
    double t_images = 0.0, t_network = 0.0;
    auto flush = [&]() {
        if (rows.empty()) return;
        const auto t0 = Clock::now();
        const long b = static_cast<long>(rows.size());
        at::Tensor x = at::from_blob(batch.data(), {b, drawer.channels(), drawer.side(), drawer.side()}, at::kFloat);
        at::Tensor out = loader.run({x})[0].reshape({b, -1});
        if (softmax) out = at::softmax(out, 1);
        out = out.contiguous();
        const float* p = out.data_ptr<float>();
        width = static_cast<std::size_t>(out.size(1));
        for (std::size_t r = 0; r < rows.size(); ++r) scores[rows[r]].assign(p + r * width, p + (r + 1) * width);
        t_network += seconds(t0, Clock::now());
        rows.clear();
    };
    for (std::size_t e = 0; e < n; ++e) {
        const auto t0 = Clock::now();
        float* image = images.data() + e * size;
        if (drawer.draw(events, e, image)) {
            std::copy(image, image + size, batch.data() + rows.size() * size);
            rows.push_back(e);
        }
        t_images += seconds(t0, Clock::now());
        if (static_cast<long>(rows.size()) == o.batch) flush();
    }
    flush();

    write_scores(o.out, scores, width);
    if (!o.images.empty()) {
        std::ofstream f(o.images, std::ios::binary);
        f.write(reinterpret_cast<const char*>(images.data()), static_cast<std::streamsize>(images.size() * sizeof(float)));
        if (!f) throw std::runtime_error("cannot write " + o.images);
    }
    const double total = t_images + t_network;
    std::fprintf(stderr,
                 "{\"events\": %zu, \"batch\": %ld, \"threads\": %d, \"seconds_images\": %.6f, "
                 "\"seconds_network\": %.6f, \"events_per_s\": %.1f}\n",
                 n, o.batch, o.threads, t_images, t_network, total > 0 ? n / total : 0.0);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse_args(argc, argv));
    } catch (const std::exception& exc) {
        std::fprintf(stderr, "score_events: error: %s\n", exc.what());
        return 2;
    }
}
