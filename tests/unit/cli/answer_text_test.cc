// How `idp-agents ask` prints an answer: the fenced structured block held back from the streamed
// text, whatever the pieces the text arrives in, and tables and charts drawn as columns.
#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <string>
#include <vector>

#include "answer_text.h"

namespace idp::cli {
namespace {

namespace bj = boost::json;

// Feeds `text` in pieces of `step` bytes and returns what would be printed.
std::string stream(const std::string& text, std::size_t step) {
  AnswerTextFilter f;
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += step) out += f.feed(text.substr(i, step));
  return out + f.finish();
}

TEST(AnswerTextFilter, DropsTheJsonBlockAndKeepsTheRestInAnyPieces) {
  const std::string answer =
      "Here are the messages:\n```json\n{\"responseType\":\"table\",\"data\":{}}\n```\nDone.";
  for (std::size_t step : {1u, 2u, 3u, 7u, 100u}) {
    EXPECT_EQ(stream(answer, step), "Here are the messages:\nDone.") << "step " << step;
  }
}

TEST(AnswerTextFilter, OtherFencesAndBackticksPassThrough) {
  const std::string answer = "Run `ls`:\n```sh\nls -l\n```\n``not a fence\n```JSONL\nx\n";
  for (std::size_t step : {1u, 4u, 100u}) EXPECT_EQ(stream(answer, step), answer) << step;
}

TEST(AnswerTextFilter, TextStreamsAtOnceOutsideALineStart) {
  AnswerTextFilter f;
  EXPECT_EQ(f.feed("The sum"), "The sum");
  EXPECT_EQ(f.feed(" is 5.\n"), " is 5.\n");
  EXPECT_EQ(f.feed("``"), "");  // might open a fence: held
  EXPECT_EQ(f.feed("x"), "``x");
  EXPECT_EQ(f.finish(), "");
}

TEST(RenderStructured, TableWithHeadersAndRowsAsColumns) {
  auto e = bj::parse(R"({"type":"structured_data","responseType":"table","data":{
      "headers":[{"id":"to","label":"To"},{"id":"status","label":"Status"}],
      "rows":[{"id":"1","data":{"to":"a.b@example.com","status":"queued"}},
              {"id":"2","data":{"to":"c@example.com","status":"sent"}}]}})")
               .as_object();
  EXPECT_EQ(render_structured(e),
            "To               Status\n"
            "---------------  ------\n"
            "a.b@example.com  queued\n"
            "c@example.com    sent\n");
}

TEST(RenderStructured, ArrayOfObjectsAndPlotData) {
  auto table = bj::parse(R"({"responseType":"table","data":[{"n":1,"name":"x"},{"n":22}]})")
                   .as_object();
  EXPECT_EQ(render_structured(table), "n   name\n--  ----\n1   x\n22\n");
  auto plot = bj::parse(R"({"responseType":"plotData","data":{"type":"bar","data":{
      "labels":["Jan","Feb"],"datasets":[{"label":"Sales","data":[3,4.5]}]}}})")
                  .as_object();
  EXPECT_EQ(render_structured(plot), "(bar chart; the web UI draws it)\n     Sales\n---  -----\nJan  3\nFeb  4.5\n");
}

TEST(RenderStructured, UnknownShapesDrawNothing) {
  EXPECT_EQ(render_structured(bj::parse(R"({"responseType":"table","data":{"x":1}})").as_object()), "");
  EXPECT_EQ(render_structured(bj::parse(R"({"responseType":"video","data":[]})").as_object()), "");
}

}  // namespace
}  // namespace idp::cli
