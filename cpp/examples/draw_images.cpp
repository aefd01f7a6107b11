// draw_images: events -> images with detcnn's header-only preprocessing alone (no libtorch: the standard
// library only), for checking the headers against Python and timing them.
//
//   draw_images SETTINGS.txt EVENTS.txt IMAGES.f32 [REPEAT]
//
// SETTINGS.txt: "key value" lines with the keys of a model package's metadata (detcnn.events jets,
// detcnn.images.n_pix 33, ...; `detcnn export-aoti` prints them). EVENTS.txt: see events_file.hpp.
// IMAGES.f32: the images, float32, one event after the other, then one byte per event: 1 drawn, 0 nothing
// to draw. REPEAT: draw everything this many times (timing). On stderr, one JSON line: events, seconds,
// events per second (one core).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "events_file.hpp"

int main(int argc, char** argv) {
    try {
        if (argc < 4 || argc > 5) throw std::invalid_argument("usage: draw_images SETTINGS.txt EVENTS.txt IMAGES.f32 [REPEAT]");
        const auto drawer = detcnn_example::Drawer::from_metadata(detcnn_example::read_settings(argv[1]));
        const auto events = detcnn_example::read_events_for(argv[2], drawer);
        const int repeat = argc == 5 ? std::stoi(argv[4]) : 1;
        const std::size_t n = events.size(), size = drawer.image_size();
        std::vector<float> images(n * size);
        std::vector<char> drawn(n);
        const auto t0 = std::chrono::steady_clock::now();
        for (int r = 0; r < repeat; ++r)
            for (std::size_t e = 0; e < n; ++e) drawn[e] = drawer.draw(events, e, images.data() + e * size) ? 1 : 0;
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::ofstream f(argv[3], std::ios::binary);
        f.write(reinterpret_cast<const char*>(images.data()), static_cast<std::streamsize>(images.size() * sizeof(float)));
        f.write(drawn.data(), static_cast<std::streamsize>(n));
        if (!f) throw std::runtime_error(std::string("cannot write ") + argv[3]);
        std::fprintf(stderr, "{\"events\": %zu, \"repeat\": %d, \"seconds\": %.6f, \"events_per_s\": %.1f}\n", n, repeat, s,
                     s > 0 ? n * repeat / s : 0.0);
        return 0;
    } catch (const std::exception& exc) {
        std::fprintf(stderr, "draw_images: error: %s\n", exc.what());
        return 2;
    }
}
