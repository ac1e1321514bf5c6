import { Type } from "typebox";
import type { Member } from "./repository.js";

export const MemberResponse = Type.Object(
  {
    id: Type.String({ examples: ["mem_01JD3M8Q6V9KX2T4R7B5N0CZHF"] }),
    object: Type.Literal("member"),
    status: Type.Union(
      [
        Type.Literal("guest"),
        Type.Literal("active"),
        Type.Literal("suspended"),
        Type.Literal("cancelled"),
        Type.Literal("erased"),
      ],
      { description: "Where the member stands in the program" },
    ),
    created_at: Type.String({ format: "date-time" }),
    updated_at: Type.String({ format: "date-time" }),
  },
  { $id: "Member" },
);

export const CreateMemberBody = Type.Object({}, { additionalProperties: false, examples: [{}] });

export const MemberIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export function toMemberResponse(member: Member) {
  return {
    id: member.id,
    object: "member" as const,
    status: member.status,
    created_at: member.createdAt,
    updated_at: member.updatedAt,
  };
}
