//! Lesson 18's exercises.
