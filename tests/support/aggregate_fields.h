#pragma once
// aggregateFieldCount<T>(): the number of members of an aggregate struct, found at compile time
// as the largest N for which T{x1, ..., xN} compiles with x convertible to anything. Used to
// check that a config's field list (its JSON keys) names every member of the struct: a member
// added to the struct and not to the list makes the counts differ.
// Limits: T must be an aggregate without base classes, C arrays or reference members.
#include <cstddef>
#include <type_traits>
#include <utility>

namespace mts::test {

namespace aggregate_detail {

struct AnyField {
    template <class T>
    operator T() const;  // declared only: used in unevaluated contexts
};

template <class T, class Indices, class = void>
struct BraceConstructible : std::false_type {};

template <class T, std::size_t... I>
struct BraceConstructible<T, std::index_sequence<I...>, std::void_t<decltype(T{(void(I), AnyField{})...})>>
    : std::true_type {};

template <class T, std::size_t N>
constexpr std::size_t count() {
    if constexpr (N > 200) {
        return N;  // no aggregate here has this many; stops the recursion
    } else if constexpr (BraceConstructible<T, std::make_index_sequence<N + 1>>::value) {
        return count<T, N + 1>();
    } else {
        return N;
    }
}

}  // namespace aggregate_detail

template <class T>
constexpr std::size_t aggregateFieldCount() {
    static_assert(std::is_aggregate_v<T>, "aggregateFieldCount needs an aggregate");
    return aggregate_detail::count<T, 0>();
}

}  // namespace mts::test
